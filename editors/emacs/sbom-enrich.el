;;; sbom-enrich.el --- Eglot setup for the sbom-enrich language server  -*- lexical-binding: t; -*-

;; Copyright (C) the sbom-enrich developers
;; SPDX-License-Identifier: Apache-2.0

;; Author: sbom-enrich developers
;; URL: https://github.com/sbom-enrich/sbom-enrich
;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1"))
;; Keywords: languages, tools, convenience

;;; Commentary:

;; Shows which Python dependencies the package index marks archived, deprecated or
;; quarantined (PEP 792), does not have at all, or has yanked, in requirements files and
;; pyproject.toml, through the sbom-enrich language server and Eglot (built in since
;; Emacs 29; install it from GNU ELPA on older Emacs).
;;
;;   (require 'sbom-enrich)
;;   (sbom-enrich-setup)
;;
;; `sbom-enrich-setup' registers the server with Eglot for `sbom-enrich-requirements-mode'
;; (a small mode for requirements*.txt, pip-tools *.in and constraints files; the third-party
;; `pip-requirements-mode' is used instead when installed) and for the TOML modes, and starts
;; Eglot in those buffers when the file is a manifest the server reads.  See README.md.

;;; Code:

(require 'cl-lib)
(require 'subr-x)

(defvar eglot-server-programs)
(declare-function eglot-ensure "eglot" ())

(defgroup sbom-enrich nil
  "PEP 792 project status of Python dependencies, via the sbom-enrich language server."
  :group 'tools
  :prefix "sbom-enrich-"
  :link '(url-link "https://github.com/sbom-enrich/sbom-enrich"))

(defcustom sbom-enrich-server-command nil
  "Command that starts the server over stdio, as a list of strings.
nil: the `sbom-enrich-lsp' executable when it is on `exec-path', else
\"python3 -m lsp\".  For a particular virtual environment use, for example,
\\='(\"/path/to/venv/bin/python\" \"-m\" \"lsp\")."
  :type '(choice (const :tag "Find it" nil) (repeat string)))

(defcustom sbom-enrich-index-url nil
  "Simple API index to ask, e.g. \"https://pypi.org/simple/\".
nil: the server's default (SBOM_ENRICH_INDEX_URL, else PyPI)."
  :type '(choice (const :tag "Server default" nil) string))

(defcustom sbom-enrich-cache-dir nil
  "Directory for the server's on-disk answer cache.
nil: the server's default (SBOM_ENRICH_CACHE_DIR, else the user cache
directory)."
  :type '(choice (const :tag "Server default" nil) directory))

(defcustom sbom-enrich-offline nil
  "Non-nil: answer from the cache only, never contact the index."
  :type 'boolean)

(defcustom sbom-enrich-ignore nil
  "Project names never to report (compared PEP 503-normalized)."
  :type '(repeat string))

(defcustom sbom-enrich-severity nil
  "Diagnostic severity per kind, overriding the server's defaults.
An alist of (KIND . SEVERITY) with KIND one of \"active\", \"deprecated\",
\"archived\", \"quarantined\", \"not-found\", \"unknown\", \"yanked\",
\"version-missing\", \"invalid-requirement\", and SEVERITY one of \"error\",
\"warning\", \"information\", \"hint\", \"none\"."
  :type '(alist :key-type string
                :value-type (choice (const "error") (const "warning")
                                    (const "information") (const "hint")
                                    (const "none"))))

(defconst sbom-enrich-requirements-file-regexp
  (concat "/\\(?:"
          "requirements[^/]*\\.\\(?:txt\\|in\\)"
          "\\|[^/]*requirements[^/]*\\.in"
          "\\|constraints[^/]*\\.\\(?:txt\\|in\\)"
          "\\|requirements/[^/]+\\.\\(?:txt\\|in\\)"
          "\\)\\'")
  "File names the server reads as pip requirements.
Like the VS Code extension, only pip-tools' *.in names: MANIFEST.in,
Makefile.in and configure.in are no requirements files.")

(defconst sbom-enrich-pyproject-file-regexp "/pyproject\\.toml\\'"
  "File names the server reads as pyproject.toml.")

(defconst sbom-enrich-toml-modes '(toml-ts-mode conf-toml-mode)
  "TOML major modes the server is registered for (pyproject.toml buffers only).")

(define-derived-mode sbom-enrich-requirements-mode prog-mode "Requirements"
  "Major mode for pip requirements and constraints files (comments only)."
  (setq-local comment-start "# ")
  (setq-local comment-start-skip "#+\\s-*")
  (setq-local font-lock-defaults
              '((("^\\s-*\\(-[-a-zA-Z]+\\)" 1 font-lock-keyword-face)
                 ("^\\s-*\\([A-Za-z0-9][-A-Za-z0-9_.]*\\)" 1 font-lock-constant-face)
                 ("\\(#.*\\)$" 1 font-lock-comment-face t)))))

(defun sbom-enrich--requirements-mode ()
  "The mode requirements files open in: `pip-requirements-mode' when installed."
  (if (fboundp 'pip-requirements-mode) 'pip-requirements-mode 'sbom-enrich-requirements-mode))

(defun sbom-enrich-initialization-options ()
  "The server settings from the `sbom-enrich-*' options, as a JSON-ready plist."
  (let ((options (list :offline (if sbom-enrich-offline t :json-false)
                       :ignore (vconcat sbom-enrich-ignore))))
    (when sbom-enrich-severity
      (setq options
            (plist-put options :severity
                       (cl-loop for (kind . level) in sbom-enrich-severity
                                append (list (intern (concat ":" kind)) level)))))
    (when (and sbom-enrich-index-url (not (string-empty-p sbom-enrich-index-url)))
      (setq options (plist-put options :indexUrl sbom-enrich-index-url)))
    (when (and sbom-enrich-cache-dir (not (string-empty-p sbom-enrich-cache-dir)))
      (setq options (plist-put options :cacheDir (expand-file-name sbom-enrich-cache-dir))))
    options))

(defun sbom-enrich--command ()
  "The server command: `sbom-enrich-server-command', else what is installed."
  (or sbom-enrich-server-command
      (and (executable-find "sbom-enrich-lsp") (list "sbom-enrich-lsp"))
      (list "python3" "-m" "lsp")))

(defun sbom-enrich-command ()
  "The command that starts the server, as a list.
For lsp-mode's `lsp-stdio-connection'."
  (sbom-enrich--command))

(defun sbom-enrich-eglot-contact (&optional _interactive)
  "Eglot contact for the server: its command and initializationOptions."
  (append (sbom-enrich--command)
          (list :initializationOptions (sbom-enrich-initialization-options))))

(defun sbom-enrich-manifest-p (&optional file)
  "Non-nil when FILE (default: this buffer's file) is a manifest the server reads."
  (when-let ((name (or file buffer-file-name)))
    (let ((case-fold-search t))
      (or (string-match-p sbom-enrich-requirements-file-regexp name)
          (string-match-p sbom-enrich-pyproject-file-regexp name)))))

(defun sbom-enrich-eglot-ensure ()
  "Start Eglot with the sbom-enrich server if this buffer visits a manifest."
  (when (and (sbom-enrich-manifest-p) (fboundp 'eglot-ensure))
    (eglot-ensure)))

;;;###autoload
(defun sbom-enrich-setup ()
  "Register the sbom-enrich server with Eglot and start it in manifest buffers.
Requirements files open in `pip-requirements-mode' (when installed) or
`sbom-enrich-requirements-mode'; pyproject.toml keeps its TOML mode.  Only one
Eglot server runs per buffer, so this replaces any other server (e.g. taplo)
registered for the TOML modes."
  (interactive)
  (add-to-list 'auto-mode-alist
               (cons sbom-enrich-requirements-file-regexp (sbom-enrich--requirements-mode)))
  (with-eval-after-load 'eglot
    (add-to-list 'eglot-server-programs
                 (cons (cons (sbom-enrich--requirements-mode) sbom-enrich-toml-modes)
                       #'sbom-enrich-eglot-contact)))
  (dolist (hook (append (list (intern (format "%s-hook" (sbom-enrich--requirements-mode))))
                        (mapcar (lambda (mode) (intern (format "%s-hook" mode)))
                                sbom-enrich-toml-modes)))
    (add-hook hook #'sbom-enrich-eglot-ensure)))

(provide 'sbom-enrich)
;;; sbom-enrich.el ends here

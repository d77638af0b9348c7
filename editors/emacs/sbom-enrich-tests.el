;;; sbom-enrich-tests.el --- Tests for sbom-enrich.el  -*- lexical-binding: t; -*-

;; SPDX-License-Identifier: Apache-2.0

;;; Commentary:

;; emacs --batch -Q -L editors/emacs -l editors/emacs/sbom-enrich-tests.el \
;;       -f ert-run-tests-batch-and-exit
;; With SBOM_ENRICH_TEST_PYTHON set (scripts/test-editors sets it), the initialization
;; options are also checked by the server's own settings parser, and, when Eglot can be
;; loaded, Eglot runs the real server on a pyproject.toml against the project's test index
;; (tests/indexserver.py) and the test checks what Flymake shows.

;;; Code:

(require 'ert)
(require 'json)
(require 'seq)
(require 'sbom-enrich)
(require 'flymake)
(require 'cl-lib)
(defvar eglot-server-programs)
(declare-function eglot "eglot")
(declare-function eglot--guess-contact "eglot")
(declare-function eglot-current-server "eglot")
(declare-function eglot-shutdown "eglot")

(defun sbom-enrich-tests--mode-for (file)
  "The major mode `auto-mode-alist' picks for FILE."
  (assoc-default file auto-mode-alist #'string-match-p))

(ert-deftest sbom-enrich-manifest-files ()
  "The files the server reads, and not MANIFEST.in and friends."
  (dolist (file '("/p/requirements.txt" "/p/requirements-dev.txt" "/p/requirements/base.txt"
                  "/p/dev-requirements.in" "/p/requirements.in" "/p/requirements/test.in"
                  "/p/constraints.txt" "/p/Requirements.TXT" "/p/pyproject.toml"))
    (should (sbom-enrich-manifest-p file)))
  (dolist (file '("/p/MANIFEST.in" "/p/Makefile.in" "/p/configure.in" "/p/notes.txt"
                  "/p/Cargo.toml" "/p/pyproject.toml.bak" "/p/docs/requirements.md"))
    (should-not (sbom-enrich-manifest-p file))))

(ert-deftest sbom-enrich-setup-registers-modes ()
  "After setup requirements files open in the requirements mode."
  (let ((auto-mode-alist auto-mode-alist))
    (sbom-enrich-setup)
    (should (eq (sbom-enrich-tests--mode-for "/p/requirements-dev.txt")
                (sbom-enrich--requirements-mode)))
    (should-not (eq (sbom-enrich-tests--mode-for "/p/MANIFEST.in")
                    (sbom-enrich--requirements-mode)))))

(ert-deftest sbom-enrich-contact ()
  "The Eglot contact: the command, then :initializationOptions."
  (let* ((sbom-enrich-server-command '("/venv/bin/python" "-m" "lsp"))
         (contact (sbom-enrich-eglot-contact t)))
    (should (equal (seq-take contact 3) '("/venv/bin/python" "-m" "lsp")))
    (should (eq (nth 3 contact) :initializationOptions))
    (should (eq (car (nth 4 contact)) :offline))))

(defun sbom-enrich-tests--options-json ()
  "JSON of the initialization options for a representative configuration."
  (let ((sbom-enrich-index-url "https://mirror.example/simple/")
        (sbom-enrich-cache-dir "/tmp/sbom-enrich-cache")
        (sbom-enrich-offline t)
        (sbom-enrich-ignore '("pycrypto" "Foo_Bar"))
        (sbom-enrich-severity '(("archived" . "error") ("not-found" . "hint"))))
    (json-encode (sbom-enrich-initialization-options))))

(ert-deftest sbom-enrich-initialization-options ()
  "The options reach the server in its shape (lsp_settings.py)."
  (let ((decoded (let ((json-object-type 'alist) (json-array-type 'list))
                   (json-read-from-string (sbom-enrich-tests--options-json)))))
    (should (equal (alist-get 'indexUrl decoded) "https://mirror.example/simple/"))
    (should (equal (alist-get 'cacheDir decoded) "/tmp/sbom-enrich-cache"))
    (should (eq (alist-get 'offline decoded) t))
    (should (equal (alist-get 'ignore decoded) '("pycrypto" "Foo_Bar")))
    (should (equal (alist-get 'severity decoded) '((archived . "error") (not-found . "hint"))))))

(ert-deftest sbom-enrich-default-options ()
  "Unset options are left to the server; offline and ignore are always sent."
  (let ((sbom-enrich-index-url nil) (sbom-enrich-cache-dir nil) (sbom-enrich-offline nil)
        (sbom-enrich-ignore nil) (sbom-enrich-severity nil))
    (should (equal (json-encode (sbom-enrich-initialization-options))
                   "{\"offline\":false,\"ignore\":[]}"))))

(ert-deftest sbom-enrich-server-accepts-options ()
  "The server's settings parser reads the options without a complaint."
  (let ((python (getenv "SBOM_ENRICH_TEST_PYTHON")))
    (skip-unless python)
    (with-temp-buffer
      (let ((status
             (call-process
              python nil t nil "-c"
              (concat "import json, sys\n"
                      "from lsp.lsp_settings import parse_lsp_settings\n"
                      "result = parse_lsp_settings(json.loads(sys.argv[1]), env={})\n"
                      "print(result.problems)\n"
                      "s = result.settings\n"
                      "assert not result.problems\n"
                      "assert s.client.offline and s.client.index_url.startswith('https://mirror.example')\n"
                      "assert s.ignore == {'pycrypto', 'foo-bar'}, s.ignore\n"
                      "assert s.severity_of('archived') == 1 and s.severity_of('not-found') == 4\n")
              (sbom-enrich-tests--options-json))))
        (should (equal (list status (buffer-string)) (list 0 "()\n")))))))

;;; End to end with Eglot

(defconst sbom-enrich-tests--repo
  (expand-file-name "../.." (file-name-directory (or load-file-name buffer-file-name)))
  "The repository root (this file is editors/emacs/sbom-enrich-tests.el).")

(defun sbom-enrich-tests--eglot-available-p ()
  "Load Eglot (built in from Emacs 29; from ELPA, e.g. Debian's elpa-eglot, before)."
  (or (require 'eglot nil t)
      (progn
        (require 'package)
        (let ((package-directory-list
               (append package-directory-list '("/usr/share/emacs/site-lisp/elpa"))))
          (package-initialize))
        (require 'eglot nil t))))

(defun sbom-enrich-tests--wait (what predicate)
  "Process events until PREDICATE returns non-nil; fail after 30 s naming WHAT."
  (let ((deadline (+ (float-time) 30)) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (or value (ert-fail (format "timed out waiting for %s" what)))))

(defun sbom-enrich-tests--start-index (python)
  "Start tests/indexserver.py with PYTHON; return (PROCESS . URL)."
  (let* ((output "")
         (process (make-process
                   :name "sbom-enrich-test-index" :noquery t :connection-type 'pipe
                   :command (list python (expand-file-name "tests/indexserver.py"
                                                           sbom-enrich-tests--repo)
                                  "--port" "0")
                   :filter (lambda (_process text) (setq output (concat output text))))))
    (cons process
          (sbom-enrich-tests--wait
           "the test index URL"
           (lambda () (and (string-match "\\`\\(http://[^\n]+\\)\n" output)
                           (match-string 1 output)))))))

(ert-deftest sbom-enrich-eglot-end-to-end ()
  "Eglot, set up by `sbom-enrich-setup', shows the server's diagnostics in a pyproject.toml."
  (let ((python (getenv "SBOM_ENRICH_TEST_PYTHON")))
    (skip-unless (and python (sbom-enrich-tests--eglot-available-p)))
    (let* ((index (sbom-enrich-tests--start-index python))
           (dir (make-temp-file "sbom-enrich-eglot-" t))
           (file (expand-file-name "pyproject.toml" dir))
           (sbom-enrich-server-command (list python "-m" "lsp"))
           (sbom-enrich-index-url (cdr index))
           (sbom-enrich-cache-dir (expand-file-name "cache" dir))
           (sbom-enrich-severity '(("archived" . "error")))
           (auto-mode-alist auto-mode-alist)
           (eglot-server-programs (copy-sequence eglot-server-programs))
           (process-environment (cons "SBOM_ENRICH_INDEX_URL" process-environment))
           (buffer nil))
      (unwind-protect
          (progn
            (with-temp-file file
              (insert "[project]\nname = \"demo\"\nversion = \"1\"\n"
                      "dependencies = [\n"
                      "    \"pycrypto>=2.6\",\n"
                      "    \"nose\",\n"
                      "    \"requests\",\n"
                      "]\n"))
            (sbom-enrich-setup)
            (setq buffer (find-file-noselect file))
            (with-current-buffer buffer
              (should (memq major-mode sbom-enrich-toml-modes))
              ;; What `eglot-ensure' does once the command loop runs (never, in batch).
              (apply #'eglot (eglot--guess-contact))
              (let ((diagnostics
                     (sbom-enrich-tests--wait
                      "two diagnostics in Flymake"
                      (lambda ()
                        (flymake-start)
                        (let ((found (flymake-diagnostics)))
                          (and (= (length found) 2) found))))))
                (should (equal
                         (sort (mapcar (lambda (d)
                                         (list (buffer-substring (flymake-diagnostic-beg d)
                                                                 (flymake-diagnostic-end d))
                                               (flymake-diagnostic-type d)))
                                       diagnostics)
                               (lambda (a b) (string< (car a) (car b))))
                         '(("nose" eglot-warning) ("pycrypto" eglot-error))))
                (should (cl-some (lambda (d) (string-match-p "pycrypto is archived"
                                                             (flymake-diagnostic-text d)))
                                 diagnostics)))))
        (when buffer
          (with-current-buffer buffer
            (when-let ((server (eglot-current-server)))
              (ignore-errors (eglot-shutdown server))))
          (kill-buffer buffer))
        (delete-process (car index))
        (delete-directory dir t)))))

;;; The README's eglot-workspace-configuration example, as printed

(defun sbom-enrich-tests--readme-dir-locals ()
  "The elisp block of README.md's eglot-workspace-configuration section, verbatim."
  (with-temp-buffer
    (insert-file-contents (expand-file-name "editors/emacs/README.md" sbom-enrich-tests--repo))
    (goto-char (point-min))
    (search-forward "### Per project with `eglot-workspace-configuration`")
    (search-forward "```elisp\n")
    (let ((start (point)))
      (search-forward "```")
      (buffer-substring-no-properties start (match-beginning 0)))))

(ert-deftest sbom-enrich-readme-workspace-configuration ()
  "The README's .dir-locals.el keeps `sbom-enrich-index-url' and applies its severity.
Issue 15: the server replaced all its settings with what Eglot sent, dropped the index
and asked PyPI.  The default index here is a closed local port, never PyPI."
  (let ((python (getenv "SBOM_ENRICH_TEST_PYTHON")))
    (skip-unless (and python (sbom-enrich-tests--eglot-available-p)))
    (let* ((index (sbom-enrich-tests--start-index python))
           (dir (make-temp-file "sbom-enrich-eglot-" t))
           (file (expand-file-name "pyproject.toml" dir))
           (sbom-enrich-server-command (list python "-m" "lsp"))
           (sbom-enrich-index-url (cdr index))
           (sbom-enrich-cache-dir (expand-file-name "cache" dir))
           (sbom-enrich-severity nil)
           (auto-mode-alist auto-mode-alist)
           (eglot-server-programs (copy-sequence eglot-server-programs))
           (process-environment
            (cons "SBOM_ENRICH_INDEX_URL=http://127.0.0.1:9/simple/" process-environment))
           (buffer nil))
      (unwind-protect
          (progn
            (with-temp-file (expand-file-name ".dir-locals.el" dir)
              (insert (sbom-enrich-tests--readme-dir-locals)))
            (with-temp-file file
              (insert "[project]\nname = \"demo\"\nversion = \"1\"\n"
                      "dependencies = [\n    \"pycrypto>=2.6\",\n    \"nose\",\n]\n"))
            (sbom-enrich-setup)
            (setq buffer (find-file-noselect file))
            (with-current-buffer buffer
              (apply #'eglot (eglot--guess-contact))
              (let ((diagnostics
                     (sbom-enrich-tests--wait
                      "the archived one as an error and the deprecated one"
                      (lambda ()
                        ;; The server publishes as lookups answer, so the error can
                        ;; show before the deprecated one does: wait for both.
                        (flymake-start)
                        (let ((found (flymake-diagnostics)))
                          (and (= (length found) 2)
                               (cl-some (lambda (d) (eq (flymake-diagnostic-type d)
                                                        'eglot-error))
                                        found)
                               found))))))
                (should (equal
                         (sort (mapcar (lambda (d)
                                         (list (buffer-substring (flymake-diagnostic-beg d)
                                                                 (flymake-diagnostic-end d))
                                               (flymake-diagnostic-type d)))
                                       diagnostics)
                               (lambda (a b) (string< (car a) (car b))))
                         '(("nose" eglot-warning) ("pycrypto" eglot-error)))))))
        (when buffer
          (with-current-buffer buffer
            (when-let ((server (eglot-current-server)))
              (ignore-errors (eglot-shutdown server))))
          (kill-buffer buffer))
        (delete-process (car index))
        (delete-directory dir t)))))

;;; The README's lsp-mode recipe, as printed

(defvar lsp-language-id-configuration)
(defvar lsp-restart)
(defvar lsp-enable-snippet)
(declare-function lsp "lsp-mode")
(declare-function lsp-diagnostics "lsp-mode")
(declare-function lsp-workspace-folders-add "lsp-mode")
(declare-function lsp-workspace-shutdown "lsp-mode")
(declare-function lsp-workspaces "lsp-mode")
(declare-function lsp:diagnostic-code? "lsp-protocol")
(declare-function lsp:diagnostic-severity? "lsp-protocol")

(defun sbom-enrich-tests--lsp-mode-available-p ()
  "Load lsp-mode (Debian's elpa-lsp-mode, or your package directory)."
  (or (require 'lsp-mode nil t)
      (progn
        (require 'package)
        (let ((package-directory-list
               (append package-directory-list '("/usr/share/emacs/site-lisp/elpa"))))
          (package-initialize))
        (require 'lsp-mode nil t))))

(defun sbom-enrich-tests--readme-block (heading)
  "The first elisp block after HEADING in README.md, verbatim."
  (with-temp-buffer
    (insert-file-contents (expand-file-name "editors/emacs/README.md" sbom-enrich-tests--repo))
    (goto-char (point-min))
    (search-forward heading)
    (search-forward "```elisp\n")
    (let ((start (point)))
      (search-forward "```")
      (buffer-substring-no-properties start (match-beginning 0)))))

(ert-deftest sbom-enrich-readme-lsp-mode ()
  "lsp-mode, set up by the README's recipe, shows the server's diagnostics."
  (let ((python (getenv "SBOM_ENRICH_TEST_PYTHON")))
    (skip-unless (and python (sbom-enrich-tests--lsp-mode-available-p)))
    (let* ((index (sbom-enrich-tests--start-index python))
           (dir (make-temp-file "sbom-enrich-lsp-mode-" t))
           (file (expand-file-name "requirements.txt" dir))
           (sbom-enrich-server-command (list python "-m" "lsp"))
           (sbom-enrich-index-url (cdr index))
           (sbom-enrich-cache-dir (expand-file-name "cache" dir))
           (sbom-enrich-severity '(("archived" . "error")))
           (auto-mode-alist auto-mode-alist)
           (lsp-language-id-configuration (copy-sequence lsp-language-id-configuration))
           (lsp-restart 'ignore)
           (lsp-enable-snippet nil)
           (process-environment
            (cons "SBOM_ENRICH_INDEX_URL=http://127.0.0.1:9/simple/" process-environment))
           (buffer nil))
      (unwind-protect
          (progn
            (eval (car (read-from-string
                        (concat "(progn "
                                (sbom-enrich-tests--readme-block "## lsp-mode instead of Eglot")
                                ")")))
                  t)
            (with-temp-file file (insert "pycrypto==2.6.1\nnose==1.3.6\nrequests\n"))
            ;; What the user answers when lsp-mode asks for the project root.
            (lsp-workspace-folders-add dir)
            (setq buffer (find-file-noselect file))
            (with-current-buffer buffer
              (should (eq major-mode 'sbom-enrich-requirements-mode))
              (lsp)  ; what lsp-deferred does once Emacs is idle (never, in batch)
              (let ((found (sbom-enrich-tests--wait
                            "three diagnostics from lsp-mode"
                            (lambda ()
                              (let ((items (gethash file (lsp-diagnostics t))))
                                (and (= (length items) 3) items))))))
                (should (equal (sort (mapcar (lambda (d) (list (lsp:diagnostic-code? d)
                                                                (lsp:diagnostic-severity? d)))
                                             found)
                                     (lambda (a b) (string< (car a) (car b))))
                               '(("sbom-enrich/archived" 1) ("sbom-enrich/deprecated" 2)
                                 ("sbom-enrich/yanked" 2)))))))
        (when buffer
          (with-current-buffer buffer
            (dolist (workspace (ignore-errors (lsp-workspaces)))
              (ignore-errors (lsp-workspace-shutdown workspace))))
          (kill-buffer buffer))
        (delete-process (car index))
        (delete-directory dir t)))))

(provide 'sbom-enrich-tests)
;;; sbom-enrich-tests.el ends here

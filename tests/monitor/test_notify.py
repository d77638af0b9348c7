"""E-mail through a real SMTP server (aiosmtpd) and Slack-style webhooks through a real HTTP one."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from receivers import HttpReceiver, SmtpReceiver, refused_port

from cli_runner import Run
from indexserver import IndexServer
from sbom_enrich.monitor.notify import DeliveryError, MailTarget
from sbom_enrich.monitor.store import open_store


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: what a receiver gets does not depend on the database."""
    return sqlite_url


def test_email_and_slack_carry_the_notice(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    smtp: SmtpReceiver,
    requirements_file: Path,
) -> None:
    targets = (
        "--slack-webhook", hook.url,
        "--smtp", f"127.0.0.1:{smtp.port}",
        "--mail-from", "monitor@example.test",
        "--mail-to", "team@example.test",
    )  # fmt: skip
    monitor("add", "--project", "shop", str(requirements_file))
    assert monitor("run", *targets).code == 0
    index_server.set_status("mal", "quarantined", "Reported as <b>malware</b>")
    result = monitor("run", *targets)
    assert result.code == 0, result.stderr

    (slack,) = hook.events()
    assert set(slack) == {"text"}
    assert slack["text"].startswith("mal: active \u2192 quarantined (the project was quarantined")
    # Slack's three control characters are escaped, so index text cannot inject mentions/links.
    assert "&lt;b&gt;malware&lt;/b&gt;" in slack["text"]
    assert "Used by: shop (" in slack["text"]

    (mail,) = smtp.messages
    assert mail["To"] == "team@example.test"
    assert mail["Subject"] == "[sbom-enrich] mal: active -> quarantined (quarantined)"
    body = mail.get_payload(decode=True).decode()
    assert "Reason: Reported as <b>malware</b>" in body
    assert '"event_id"' in body and mail["X-Sbom-Enrich-Event"] in body

    assert monitor("run", *targets).code == 0
    assert len(hook.received) == 1 and len(smtp.messages) == 1


def test_an_smtp_server_that_is_down_is_a_failed_delivery(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    requirements_file: Path,
) -> None:
    with refused_port() as port:
        targets = (
            "--smtp",
            f"127.0.0.1:{port}",
            "--mail-from",
            "a@x.test",
            "--mail-to",
            "b@x.test",
        )
        monitor("add", "--project", "shop", str(requirements_file))
        monitor("run", *targets)
        index_server.set_status("beta", "archived")
        result = monitor("run", *targets)
    assert result.code == 3
    assert "smtp 127.0.0.1" in result.stderr and "1 waiting" in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--smtp", "mail.example"), "--smtp: expected HOST:PORT"),
        # A digit to str.isdigit(), not to int(): ValueError, exit 5.
        (("--smtp", "mail.example:\u00b2"), "--smtp: expected HOST:PORT"),
        (("--smtp", "mail.example:" + "9" * 5000), "--smtp: expected HOST:PORT"),
        # Arabic-Indic "25": int() read it as port 25.
        (("--smtp", "mail.example:\u0662\u0665"), "--smtp: expected HOST:PORT"),
        (("--smtp", "mail.example:25"), "--smtp needs --mail-from and --mail-to"),
        (("--mail-to", "a@b.c"), "need --smtp"),
        (("--webhook", "ftp://x/y"), "--webhook: expected an http(s) URL"),
    ],
)
def test_bad_targets_are_usage_errors(
    monitor: Callable[..., Run], argv: tuple[str, ...], message: str
) -> None:
    result = monitor("run", *argv)
    assert result.code == 2
    assert message in result.stderr


def test_a_failing_slack_webhook_never_shows_its_secret_path(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    hook: HttpReceiver,
    requirements_file: Path,
    db_url: str,
) -> None:
    secret_url = hook.url + "/T000/B000/XXXXsecretXXXX"
    monitor("add", "--project", "shop", str(requirements_file))
    monitor("run", "--slack-webhook", secret_url)
    index_server.set_status("beta", "archived")
    hook.status = 500
    result = monitor("run", "--slack-webhook", secret_url, "-v")
    assert result.code == 3
    assert f"HTTP 500 from http://127.0.0.1:{hook.port}" in result.stderr
    assert "secret" not in result.stderr
    store = open_store(db_url)
    ((_, _, attempts, error),) = store.delivery_errors()
    store.close()
    assert attempts == 1 and "secret" not in error


NOTICE = {"event_id": "e-1", "name": "beta", "old_status": "active", "new_status": "archived",
          "kind": "archived", "summary": "archived", "seen_at": "2026-12-06T07:00:00Z"}  # fmt: skip


@pytest.fixture
def tls() -> trustme.CA:
    return trustme.CA()


def _authenticated_receiver(ca: trustme.CA, logins: list[tuple[bytes, bytes]]) -> SmtpReceiver:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)

    def authenticator(server: object, session: object, envelope: object, mechanism: str,
                      data: object) -> AuthResult:  # fmt: skip
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        # handled=False: aiosmtpd answers (235, or 535 on failure) itself.
        return AuthResult(success=data.password == b"right", handled=False)

    return SmtpReceiver(
        tls_context=server_context, auth_required=True, authenticator=authenticator
    ).start()


async def test_smtp_login_happens_over_starttls_only(tls: trustme.CA) -> None:
    logins: list[tuple[bytes, bytes]] = []
    receiver = _authenticated_receiver(tls, logins)
    client_context = ssl.create_default_context()
    tls.configure_trust(client_context)
    try:
        target = MailTarget("127.0.0.1", receiver.port, "m@x.test", ("t@x.test",), "bot",
                            "right", client_context)  # fmt: skip
        await target.send(NOTICE)
        assert logins == [(b"bot", b"right")]
        assert receiver.messages[0]["X-Sbom-Enrich-Event"] == "e-1"
        wrong = MailTarget("127.0.0.1", receiver.port, "m@x.test", ("t@x.test",), "bot",
                           "wrong", client_context)  # fmt: skip
        with pytest.raises(DeliveryError, match="SMTPAuthenticationError"):
            await wrong.send(NOTICE)
        tried = len(logins)  # smtplib tries each offered mechanism (PLAIN, LOGIN)
        assert {password for _, password in logins[1:]} == {b"wrong"}
        # A certificate the client does not trust: no login, no message.
        untrusted = MailTarget("127.0.0.1", receiver.port, "m@x.test", ("t@x.test",), "bot",
                               "right")  # fmt: skip
        with pytest.raises(DeliveryError, match="SSL"):
            await untrusted.send(NOTICE)
        assert len(logins) == tried and len(receiver.messages) == 1
    finally:
        receiver.stop()


async def test_no_password_in_clear_text(smtp: SmtpReceiver) -> None:
    target = MailTarget("127.0.0.1", smtp.port, "m@x.test", ("t@x.test",), "bot", "secret")
    with pytest.raises(DeliveryError, match="offers no STARTTLS"):
        await target.send(NOTICE)
    assert smtp.messages == []


def test_a_recipient_refused_leaves_the_notice_undelivered(
    monitor: Callable[..., Run],
    index_server: IndexServer,
    requirements_file: Path,
) -> None:
    """smtplib raises only when every recipient is refused: with the on-call address refused
    and the team's accepted, the notice was marked delivered and on-call never got it. It is
    a failed delivery now (exit 3), tried again by the next pass."""
    smtp = SmtpReceiver(refuse=frozenset({"oncall@example.test"})).start()
    try:
        targets = (
            "--smtp", f"127.0.0.1:{smtp.port}", "--mail-from", "monitor@example.test",
            "--mail-to", "team@example.test,oncall@example.test",
        )  # fmt: skip
        monitor("add", "--project", "shop", str(requirements_file))
        assert monitor("run", *targets).code == 0
        index_server.set_status("mal", "quarantined")
        result = monitor("run", *targets)
    finally:
        smtp.stop()
    assert result.code == 3, result.stderr
    assert "refused recipients: oncall@example.test" in result.stderr
    assert "0 notices delivered, 1 failed" in result.stderr


def test_a_registered_path_cannot_forge_lines_in_a_notice() -> None:
    """A directory name holding a line break and ESC reached the Slack text and the e-mail
    raw: it forged a line "Reason: false alarm, quarantine lifted"."""
    from sbom_enrich.monitor.notify import notice_text

    forged = "/srv/x)\nReason: false alarm, quarantine lifted\x1b[2K/requirements.txt"
    notice = {
        "name": "mal", "old_status": "active", "new_status": "quarantined",
        "summary": "quarantined", "used_by": [{"project": "shop", "file": forged}],
        "seen_at": "2026-12-07T00:00:00Z", "event_id": "e1",
    }  # fmt: skip
    text = notice_text(notice)
    assert "\x1b" not in text
    assert not any(line.startswith("Reason:") for line in text.splitlines())

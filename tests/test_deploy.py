"""The deployment examples for several webhook workers (#24, README "Several workers"):
``deploy/systemd/jindianzi@.service`` passes ``systemd-analyze verify`` (where systemd's
tools are installed) and says what the README says; ``deploy/nginx/jindianzi.conf`` parses
(a small reader of nginx's syntax: blocks, directives, quotes, comments; ``nginx -t`` too
where nginx and openssl happen to be installed) and sends the webhook's path to the same
workers the unit's instances are."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "systemd" / "jindianzi@.service"
NGINX = ROOT / "deploy" / "nginx" / "jindianzi.conf"
README = ROOT / "README.md"
WEBHOOK_PATH = "/jindianzi/updates"


# ---------------------------------------------------------------- systemd
def unit_sections() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys as written
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_is_a_template_run_per_port_with_the_shared_settings() -> None:
    unit = unit_sections()
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[:2] == ["/opt/jindianzi/.venv/bin/jindianzi", "run"]
    assert command[command.index("--webhook") + 1] == "${WEBHOOK_URL}"
    assert command[command.index("--listen") + 1] == "127.0.0.1:%i"  # the instance's port
    assert service["EnvironmentFile"] == "/etc/jindianzi/environment"
    assert service["User"] != "root" and service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a configuration error: no loop
    for hardening in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "RestrictNamespaces"):
        assert service[hardening] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""
    # What the unit's environment file must hold is in the example the README points to.
    example = (ROOT / "deploy" / "environment.example").read_text(encoding="utf-8")
    said = UNIT.read_text(encoding="utf-8")
    for name in ("JINDIANZI_TELEGRAM__WEBHOOK_SECRET", "JINDIANZI_DB_PASSWORD", "WEBHOOK_URL"):
        assert name in example and name in said


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_an_instance_of_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on ``jindianzi@8441.service``; the executable is this
    checkout's (systemd checks that it exists), and any complaint about the unit fails."""
    jindianzi = Path(sys.executable).parent / "jindianzi"
    assert jindianzi.exists(), "the console script of this checkout's venv"
    text = UNIT.read_text(encoding="utf-8").replace(
        "/opt/jindianzi/.venv/bin/jindianzi", str(jindianzi)
    )
    (tmp_path / "jindianzi@.service").write_text(text, encoding="utf-8")
    (tmp_path / "jindianzi@8441.service").symlink_to("jindianzi@.service")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "jindianzi@8441.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "jindianzi" in line
    ]
    assert result.returncode == 0 and complaints == [], result.stdout + result.stderr


# ---------------------------------------------------------------- nginx
@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def one(self, name: str) -> Directive:
        [found] = self.all(name)
        return found


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{};]|[^\s{};"\']+')


def parse_nginx(text: str) -> list[Directive]:
    """nginx's configuration syntax: ``name args... ;`` or ``name args... { ... }``, ``#``
    comments to the end of the line. Raises ValueError on what nginx would refuse to read
    (an unclosed block, a directive without its ``;``, a stray ``}``)."""
    kept, quote = [], ""
    for line in text.splitlines():
        for char in line:  # a '#' outside quotes starts a comment
            if quote:
                quote = "" if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "#":
                break
            kept.append(char)
        kept.append("\n")
    tokens = _TOKEN.findall("".join(kept))

    def block(at: int, nested: bool) -> tuple[list[Directive], int]:
        found: list[Directive] = []
        words: list[str] = []
        while at < len(tokens):
            token = tokens[at]
            at += 1
            if token == ";":
                if not words:
                    raise ValueError("an empty directive")
                found.append(Directive(words[0], [w.strip("\"'") for w in words[1:]]))
                words = []
            elif token == "{":
                if not words:
                    raise ValueError("a block without a name")
                inner, at = block(at, nested=True)
                found.append(Directive(words[0], [w.strip("\"'") for w in words[1:]], inner))
                words = []
            elif token == "}":
                if not nested or words:
                    raise ValueError(f"unexpected '}}' after {words}")
                return found, at
            else:
                words.append(token)
        if nested or words:
            raise ValueError("the file ends inside a block or a directive")
        return found, at

    parsed, _ = block(0, nested=False)
    return parsed


def test_the_nginx_reader_refuses_what_nginx_would() -> None:
    assert parse_nginx("a b;\nc { d e; } # f {")[1].block == [Directive("d", ["e"])]
    for broken in ("a b", "a { b; ", "a b; }", "{ a; }", "a { b }"):
        with pytest.raises(ValueError):
            parse_nginx(broken)


def test_nginx_sends_the_webhook_to_the_units_instances() -> None:
    config = parse_nginx(NGINX.read_text(encoding="utf-8"))
    root = Directive("", [], config)
    [upstream] = root.all("upstream")
    servers = [d.args[0] for d in upstream.all("server")]
    assert len(servers) >= 2 and all(re.fullmatch(r"127\.0\.0\.1:\d+", s) for s in servers)
    ports = [s.split(":")[1] for s in servers]
    # The unit's instances are named for these ports, in the unit's and the README's words.
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Several workers", 1)[1].split("\n## ", 1)[0]
    for port in ports:
        assert f"jindianzi@{port}" in section
    assert (
        "deploy/nginx/jindianzi.conf" in section and "deploy/systemd/jindianzi@.service" in section
    )

    [server] = root.all("server")
    assert any("ssl" in d.args for d in server.all("listen"))
    assert server.one("ssl_certificate").args and server.one("ssl_certificate_key").args
    [webhook] = [d for d in server.all("location") if WEBHOOK_PATH in d.args]
    assert webhook.one("proxy_pass").args == [f"http://{upstream.args[0]}"]
    headers = {d.args[0]: d.args[1] for d in webhook.all("proxy_set_header")}
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "$http_x_telegram_bot_api_secret_token"
    assert webhook.one("client_max_body_size").args == ["1m"]
    for timeout in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout"):
        seconds = int(webhook.one(timeout).args[0].removesuffix("s"))
        assert 1 <= seconds <= 60  # Telegram waits about a minute for an answer
    assert "non_idempotent" in webhook.one("proxy_next_upstream").args  # (the inbox dedups)
    assert webhook.one("access_log").args == ["off"]  # an update's body is never logged


@pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="nginx is not installed here (the structural reading above still runs)",
)
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    """``nginx -t`` on the file inside a minimal main configuration, with a throwaway
    certificate in place of the real one."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=bot.example.org",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    site = NGINX.read_text(encoding="utf-8")
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["nginx", "-t", "-c", str(main), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr

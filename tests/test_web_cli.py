"""`govmon user add` and `govmon serve` through the installed console script."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

GOVMON = str(Path(sys.executable).with_name("govmon"))


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVMON, *args], capture_output=True, text=True, timeout=60, cwd=cwd, input=stdin)


def test_user_add_validates_and_hashes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'govmon.db'}"
    password = tmp_path / "pw.txt"
    password.write_text("s3cret-password\n", encoding="utf-8")
    added = run("user", "add", "张三", "--role", "admin", "--password-file", str(password), "--db", db, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "已创建用户 张三（admin）"
    again = run("user", "add", "张三", "--role", "viewer", "--password-stdin", "--db", db, cwd=tmp_path,
                stdin="another-password\n")
    assert again.returncode == 2 and again.stderr.strip() == "用户 张三 已存在"
    short = run("user", "add", "李四", "--role", "viewer", "--password-stdin", "--db", db, cwd=tmp_path, stdin="short\n")
    assert short.returncode == 2 and "密码至少 8 个字符" in short.stderr
    bad_role = run("user", "add", "王五", "--role", "root", "--password-stdin", "--db", db, cwd=tmp_path, stdin="x" * 10)
    assert bad_role.returncode == 2 and "admin、operator 或 viewer" in bad_role.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "govmon.db") as connection:
        rows = connection.execute("SELECT name, role, password_hash FROM users").fetchall()
        audit = connection.execute("SELECT username, action, object_id FROM audit_log").fetchall()
    assert [(name, role) for name, role, _ in rows] == [("张三", "admin")]
    assert rows[0][2].startswith("$argon2id$") and "s3cret" not in rows[0][2]
    assert len(audit) == 1 and audit[0][1:] == ("user.add", "张三") and audit[0][0].startswith("命令行")


def test_serve_requires_login_and_stops_on_sigint(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'govmon.db'}"
    assert run("user", "add", "admin", "--role", "admin", "--password-stdin", "--db", db, cwd=tmp_path,
               stdin="s3cret-password\n").returncode == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([GOVMON, "serve", "--port", str(port), "--db", db], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base) as client:
            assert client.get("/").status_code == 303
            assert client.get("/api/findings").status_code == 401
            page = client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
            login = client.post("/login", data={"username": "admin", "password": "s3cret-password", "csrf_token": csrf})
            assert login.status_code == 303 and login.headers["location"] == "/"
            overview = client.get("/")
            assert overview.status_code == 200 and "总览" in overview.text
            assert "default-src 'self'" in overview.headers["content-security-policy"]
    finally:
        process.send_signal(2)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"控制台：http://127.0.0.1:{port}/" in err


def test_serve_on_a_taken_port_says_so_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'govmon.db'}", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"无法在 127.0.0.1:{port} 上启动控制台：Address already in use（端口已被占用或地址不可用）"

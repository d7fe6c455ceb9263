# Over 500 lines as one unit: one table of shell words in every quoting.
"""Paths taken from shell words: every redirection and every file-writing command's
arguments, in every quoting, must be judged as the path bash would really use.

The rule: a word is decoded exactly as bash decodes it (quotes, backslashes, ``$'...'``,
``$"..."``, a leading ``~``); a word bash would expand (variables, substitutions, globs,
braces) is an unknown path and always asks. Only a short list of devices is exempt.
Relative paths are relative to the Bash tool's folder, and unknown after a ``cd``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.tools import BashTool
from tests.helpers import run_to_end, scripted_in, tool_context
from tests.permission_support import A, D, Q, decide, fill, make_engine, make_places

LS = {A: ["Bash(ls:*)"]}
ALL = {A: ["Bash"]}


def allow(*commands: str) -> dict[str, list[str]]:
    return {A: [f"Bash({c}:*)" for c in commands]}


# (id, rules, command, expected)
REDIRECTS: list[tuple[str, dict[str, list[str]], str, str]] = [
    # the reported holes: part-quoted targets and /dev/..
    ("quote-tail", LS, "ls > '{out}/'x", Q),
    ("quote-mid", LS, "ls > '{out}'/x", Q),
    ("dquote-tail", LS, 'ls >"{out}/"x', Q),
    ("dquote-glued", LS, 'ls>"{out}"/x', Q),
    ("dev-dotdot", LS, "ls > /dev/..{out}/x", Q),
    ("dev-fd-dotdot", LS, "ls > /dev/fd/../..{out}/x", Q),
    ("dev-shm", LS, "ls > /dev/shm/harness-x", Q),
    ("dev-fd-3", LS, "ls > /dev/fd/3", Q),
    ("backslash-mid", LS, "ls > {out}/\\x", Q),
    ("ansi-c", LS, "ls > $'{out}/x'", Q),
    ("ansi-c-hex-slash", LS, "ls > $'\\x2e\\x2e/out/x'", Q),
    ("ansi-c-octal-slash", LS, "ls > ..$'\\057'out/x", Q),
    ("locale-string", LS, 'ls > $"{out}/x"', Q),
    ("mixed-quotes", LS, "ls > \"{out}\"'/'\\x", Q),
    ("dotdot-quoted", LS, "ls > '..'/out/x", Q),
    ("home", LS, "ls > ~/x", Q),
    ("home-user", LS, "ls > ~root/x", Q),
    ("ansi-c-quote-confusion", LS, "ls $'\\'' > {out}/x #'", Q),
    # every write operator
    ("append", LS, "ls >> '{out}'/x", Q),
    ("clobber", LS, "ls >| '{out}'/x", Q),
    ("both", LS, "ls &> '{out}'/x", Q),
    ("both-append", LS, "ls &>> '{out}'/x", Q),
    ("read-write", LS, "ls <> '{out}'/x", Q),
    ("fd-2", LS, "ls 2> '{out}'/x", Q),
    ("fd-2-append", LS, "ls 2>> '{out}'/x", Q),
    ("dup-file", LS, "ls >&'{out}'/x", Q),
    ("dup-file-spaced", LS, "ls >& '{out}'/x", Q),
    ("fd-dup-file", LS, "ls 1>&'{out}'/x", Q),
    ("fd-rw", LS, "ls 3<> '{out}'/x", Q),
    ("dup-expanded-twice-tilde", LS, "ls >& '~/x'", Q),
    ("dup-expanded-twice-quotes", LS, "ls >& \"'{out}/x'\"", Q),
    ("dup-expanded-twice-variable", LS, "ls >& '$HOME'/x", Q),
    ("named-fd", LS, "ls {fd}> '{out}'/x", Q),
    # where redirections hide
    ("in-subst", LS, "ls $(ls > '{out}'/x)", Q),
    ("in-backticks", LS, "ls `ls > '{out}'/x`", Q),
    ("in-proc-in", LS, "ls <(ls > '{out}'/x)", Q),
    ("in-proc-out", LS, "ls > >(ls > '{out}'/x)", Q),
    ("in-subshell", LS, "(ls > '{out}'/x)", Q),
    ("in-group", LS, "{ ls > '{out}'/x; }", Q),
    ("in-function", LS, "f() { ls > '{out}'/x; }; f", Q),
    ("exec-fd", allow("ls", "exec"), "exec 3> '{out}'/x; ls >&3", Q),
    ("bash-c", allow("ls", "bash"), "bash -c 'ls > {out}/x'", Q),
    ("bash-c-quoted", allow("ls", "bash"), "bash -c \"ls > '{out}'/x\"", Q),
    ("bash-lc", allow("ls", "bash"), "bash -lc 'ls > {out}/x'", Q),
    ("sh-c", allow("ls", "sh"), "sh -c 'ls > {out}/x'", Q),
    ("eval", allow("ls", "eval"), "eval 'ls > {out}/x'", Q),
    ("eval-words", allow("ls", "eval"), "eval ls '>' {out}/x", Q),
    ("bash-c-variable", allow("bash"), 'bash -c "$CMD"', Q),
    ("eval-variable", allow("eval"), "eval $CMD", Q),
    # expansions: the path is unknown, no allow rule silences the question
    ("var", ALL, "ls > $X", Q),
    ("var-braces", ALL, "ls > ${X}", Q),
    ("var-quoted", ALL, 'ls > "$X"', Q),
    ("var-tail", ALL, "ls > out$X", Q),
    ("subst-target", ALL, "ls > $(echo x)", Q),
    ("backtick-target", ALL, "ls > `echo x`", Q),
    ("glob-star", ALL, "ls > x*", Q),
    ("glob-question", ALL, "ls > x?", Q),
    ("glob-class", ALL, "ls > x[ab]", Q),
    ("brace-list", ALL, "ls > x{a,b}", Q),
    ("brace-range", ALL, "ls > x{1..2}", Q),
    ("extglob", ALL, "ls > @(x)", Q),
    ("tilde-plus", ALL, "ls > ~+/x", Q),
    ("tilde-minus", ALL, "ls > ~-/x", Q),
    ("positional", ALL, "ls > $1", Q),
    ("arith", ALL, "ls > $((1+2))", Q),
    ("old-arith", ALL, "ls > $[1+2]", Q),
    # paths that mean something else in the shell's process, or go through a new link
    ("proc-self-cwd", ALL, "ls > /proc/self/cwd/x", Q),
    ("dev-stdin", LS, "ls > /dev/stdin", Q),
    ("through-new-symlink", allow("ls", "ln"), "ln -s {out} l && ls > l/x", Q),
    ("through-moved-link", allow("ls", "mv"), "mv link moved && ls > moved/x", Q),
    ("through-copied-link", allow("ls", "cp"), "cp -r link copied; ls > copied/x", Q),
    # here-documents
    ("heredoc-outside", ALL, "cat > {out}/x <<'EOF'\nhi\nEOF", Q),
    ("heredoc-subst", allow("cat"), "cat <<EOF\n$(ls > {out}/x)\nEOF", Q),
    ("heredoc-backticks", allow("cat"), "cat <<-EOF\n\t`ls > {out}/x`\n\tEOF", Q),
    ("heredoc-then-write", allow("cat", "ls"), "cat <<EOF\nhi\nEOF\nls > {out}/x", Q),
    ("heredoc-unterminated", allow("cat"), "cat > x <<EOF\nhi", Q),
    ("heredoc-quoted-no-subst", allow("cat"), "cat <<'EOF'\n$(ls > {out}/x)\nEOF", A),
    ("heredoc-inside", allow("cat"), "cat > notes.txt <<'EOF'\nit's ) fine\nEOF", A),
    # outside the workspace asks even when every command is allowed
    ("bare-allow-outside", ALL, "ls > {out}/x", Q),
    ("bare-allow-quoted-outside", ALL, "ls > '{out}'/x", Q),
    # a relative path after the command line changes folder
    ("after-cd", allow("ls", "cd"), "cd {out} && ls > x", Q),
    ("after-builtin-cd", ALL, "builtin cd {out} && ls > x", Q),
    ("after-escaped-cd", ALL, "\\cd {out}; ls > x", Q),
    ("after-quoted-cd", ALL, '"cd" {out}; ls > x', Q),
    ("after-pushd", ALL, "pushd {out}; ls > x", Q),
    ("after-eval-cd", ALL, "eval cd {out}; ls > x", Q),
    ("after-variable-command", ALL, "$GO {out}; ls > x", Q),
    ("after-cd-in-function", ALL, "f() { cd {out}; }; f; ls > x", Q),
    # what stays allowed
    ("plain-inside", LS, "ls > out.txt", A),
    ("quoted-inside", LS, "ls > 'a b.txt'", A),
    ("dquoted-inside", LS, 'ls > "sub/x"', A),
    ("escaped-space-inside", LS, "ls > a\\ b.txt", A),
    ("literal-tilde-folder", LS, "ls > '~'/x", A),
    ("escaped-tilde", LS, "ls > \\~/x", A),
    ("quoted-star", LS, "ls > 'x*'", A),
    ("quoted-braces", LS, 'ls > "x{a,b}"', A),
    ("lone-braces", LS, "ls > x{a}", A),
    ("dev-null", LS, "ls > /dev/null 2>&1", A),
    ("dev-null-fd", LS, "ls 2>/dev/null", A),
    ("dev-null-doubled", LS, "ls > /dev//null", A),
    ("dev-null-dot", LS, "ls > /dev/./null", A),
    ("dev-null-quoted", LS, "ls > '/dev/null'", A),
    ("dev-stderr", LS, "ls >/dev/stderr", A),
    ("dev-fd-2", LS, "ls > /dev/fd/2", A),
    ("fd-dup", LS, "ls 2>&1", A),
    ("fd-close", LS, "ls 2>&-", A),
    ("abs-inside", LS, "ls > {w}/sub/x", A),
    ("home-as-literal-assignment", LS, "ls > a=b", A),
]

# Commands that write the files their arguments name.
WRITERS: list[tuple[str, dict[str, list[str]], str, str]] = [
    ("cp-dest", allow("cp"), "cp a.txt {out}/x", Q),
    ("cp-dest-quoted", allow("cp"), "cp a.txt '{out}'/x", Q),
    ("cp-dest-folder", allow("cp"), "cp a.txt {out}/", Q),
    ("cp-t", allow("cp"), "cp -t {out} a.txt", Q),
    ("cp-target-dir", allow("cp"), "cp --target-directory={out} a.txt", Q),
    ("cp-option-after", allow("cp"), "cp a.txt {out}/x -v", Q),
    ("cp-suffix", allow("cp"), "cp -S .bak a.txt {out}/x", Q),
    ("mv-dest", allow("mv"), "mv a.txt {out}/x", Q),
    ("mv-source", allow("mv"), "mv {out}/x sub/", Q),
    ("tee", allow("tee"), "tee {out}/x", Q),
    ("tee-append", allow("tee"), "tee -a sub/log {out}/x", Q),
    ("touch", allow("touch"), "touch {out}/new", Q),
    ("touch-ref", allow("touch"), "touch -r a.txt {out}/new", Q),
    ("mkdir", allow("mkdir"), "mkdir -p {out}/d", Q),
    ("mkdir-mode", allow("mkdir"), "mkdir -m 700 {out}/d", Q),
    ("rm", allow("rm"), "rm -rf {out}/x", Q),
    ("rm-dashdash", allow("rm"), "rm -- {out}/x", Q),
    ("rmdir", allow("rmdir"), "rmdir {out}/d", Q),
    ("unlink", allow("unlink"), "unlink {out}/x", Q),
    ("shred", allow("shred"), "shred -u {out}/x", Q),
    ("ln-dest", allow("ln"), "ln -s a.txt {out}/l", Q),
    ("ln-t", allow("ln"), "ln -st {out} {w}/a.txt", Q),
    ("install", allow("install"), "install -m 644 a.txt {out}/x", Q),
    ("install-d", allow("install"), "install -d {out}/d", Q),
    ("dd", allow("dd"), "dd if=a.txt of={out}/x", Q),
    ("dd-quoted", allow("dd"), "dd if=a.txt of='{out}'/x", Q),
    ("truncate", allow("truncate"), "truncate -s 0 {out}/x", Q),
    ("sed-i", allow("sed"), "sed -i s/a/b/ {out}/x", Q),
    ("sed-i-suffix", allow("sed"), "sed -i.bak -e s/a/b/ {out}/x", Q),
    ("sed-in-place", allow("sed"), "sed --in-place s/a/b/ {out}/x", Q),
    ("sed-ni", allow("sed"), "sed -ni s/a/b/p {out}/x", Q),
    ("sed-i-backup-elsewhere", allow("sed"), "sed -i'{out}/*' s/a/b/ a.txt", Q),
    ("chmod", allow("chmod"), "chmod 600 {out}/x", Q),
    ("chmod-recursive", allow("chmod"), "chmod -R u+w {out}", Q),
    ("chown", allow("chown"), "chown 1000 {out}/x", Q),
    ("chgrp", allow("chgrp"), "chgrp 1000 {out}/x", Q),
    ("env-wrapper", allow("env"), "env FOO=1 rm {out}/x", Q),
    ("timeout-wrapper", allow("timeout"), "timeout 5 rm {out}/x", Q),
    ("command-wrapper", ALL, "command rm {out}/x", Q),
    ("nice-wrapper", allow("nice"), "nice -n 5 tee {out}/x", Q),
    ("glob-dest", allow("cp"), "cp a.txt {out}/*", Q),
    ("variable-dest", allow("rm"), "rm $TARGET", Q),
    ("variable-command", ALL, "$RM {out}/x", Q),
    ("alias-value", allow("alias", "ls"), "alias ls='rm -rf {out}/x'", Q),
    ("in-pipeline", allow("ls", "tee"), "ls | tee {out}/x", Q),
    ("rm-in-subst", allow("echo", "rm"), "echo $(rm {out}/x)", Q),
    ("cp-home-dest", allow("cp"), "cp a.txt ~/x", Q),
    ("find-delete-outside", allow("find"), "find {out} -name x -delete", Q),
    ("find-delete-here", allow("find"), "find . -name '*.pyc' -delete", Q),
    ("find-exec-rm", allow("find", "rm"), "find {out} -exec rm {{}} +", Q),
    ("find-exec-inside", allow("find", "rm"), "find sub -name '*.o' -exec rm {{}} \\;", Q),
    ("find-fprint", allow("find"), "find . -fprint {out}/list", Q),
    ("xargs-rm", allow("echo", "xargs"), "echo {out}/x | xargs rm", Q),
    ("xargs-replace", allow("ls", "xargs"), "ls | xargs -I{{}} cp {{}} {out}/", Q),
    ("coproc", ALL, "coproc tee {out}/x", Q),
    ("busybox", ALL, "busybox tee {out}/x", Q),
    ("curl-o", allow("curl"), "curl -sSLo {out}/x https://e.x/a", Q),
    ("curl-remote-name", allow("curl"), "curl -O https://e.x/.mcp.json", Q),
    ("curl-output-dir", allow("curl"), "curl --output-dir {out} -O https://e.x/a", Q),
    ("curl-server-name", allow("curl"), "curl -OJ https://e.x/a", Q),
    ("wget-O", allow("wget"), "wget -qO {out}/x https://e.x/a", Q),
    ("wget-name", allow("wget"), "wget https://e.x/plugin.yaml", Q),
    ("wget-prefix", allow("wget"), "wget -P {out} https://e.x/a", Q),
    ("wget-recursive", allow("wget"), "wget -r https://e.x/", Q),
    ("tar-extract", allow("tar"), "tar -xzf a.tgz", Q),
    ("tar-extract-bundled", allow("tar"), "tar xzf a.tgz -C sub", Q),
    ("tar-create-outside", allow("tar"), "tar -czf {out}/b.tgz src", Q),
    ("tar-create-bundled", allow("tar"), "tar czf {out}/b.tgz src", Q),
    ("unzip", allow("unzip"), "unzip a.zip", Q),
    ("gunzip-outside", allow("gunzip"), "gunzip {out}/x.gz", Q),
    ("gunzip-protected-name", allow("gunzip"), "gunzip plugin.yaml.gz", Q),
    ("gzip-outside", allow("gzip"), "gzip -9 {out}/x", Q),
    # what stays allowed
    ("cp-inside", allow("cp"), "cp a.txt sub/", A),
    ("cp-from-outside", allow("cp"), "cp {out}/x sub/", A),
    ("cp-recursive-inside", allow("cp"), "cp -r src dir/", A),
    ("rm-inside", allow("rm"), "rm -rf sub", A),
    ("mkdir-inside", allow("mkdir"), "mkdir -p sub/new", A),
    ("tee-inside", allow("tee"), "tee -a sub/log", A),
    ("sed-i-inside", allow("sed"), "sed -i s/a/b/ a.txt", A),
    ("sed-no-i", allow("sed"), "sed s/a/b/ {out}/x", A),
    ("dd-inside", allow("dd"), "dd if={out}/x of=sub/b", A),
    ("chmod-inside", allow("chmod"), "chmod 644 a.txt", A),
    ("touch-inside", allow("touch"), "touch sub/new", A),
    ("ln-inside", allow("ln"), "ln -s a.txt sub/l", A),
    ("tee-dev-null", allow("tee"), "tee /dev/null", A),
    ("curl-inside", allow("curl"), "curl -sS -o sub/page.html https://e.x/a", A),
    ("curl-stdout", allow("curl"), "curl -s https://e.x/a", A),
    ("wget-inside", allow("wget"), "wget -O - https://e.x/a", A),
    ("tar-list", allow("tar"), "tar -tzf a.tgz", A),
    ("tar-create-inside", allow("tar"), "tar -czf sub/b.tgz src", A),
    ("unzip-list", allow("unzip"), "unzip -l a.zip", A),
    ("gzip-stdout", allow("gzip"), "gzip -c a.txt", A),
    ("find-read-only", allow("find"), "find src -name '*.py'", A),
    ("xargs-read-only", allow("ls", "xargs"), "ls | xargs grep x", A),
]

# A deny rule on a command holds however its name is written.
DENY_RM = {D: ["Bash(rm:*)"], A: ["Bash"]}
DENY_NAMES: list[tuple[str, dict[str, list[str]], str, str]] = [
    ("deny-plain", DENY_RM, "rm x", D),
    ("deny-backslash", DENY_RM, "\\rm x", D),
    ("deny-single-quoted", DENY_RM, "'rm' x", D),
    ("deny-double-quoted", DENY_RM, '"rm" x', D),
    ("deny-split-escape", DENY_RM, "r\\m x", D),
    ("deny-ansi-c", DENY_RM, "$'rm' x", D),
    ("deny-assignment", DENY_RM, "FOO=1 rm x", D),
    ("deny-command", DENY_RM, "command rm x", D),
    ("deny-env", DENY_RM, "env rm x", D),
    ("deny-env-assign", DENY_RM, "env -i A=1 rm x", D),
    ("deny-timeout", DENY_RM, "timeout 5 rm x", D),
    ("deny-nice", DENY_RM, "nice rm x", D),
    ("deny-nohup", DENY_RM, "nohup rm x", D),
    ("deny-exec", DENY_RM, "exec rm x", D),
    ("deny-bash-c", DENY_RM, "bash -c 'rm x'", D),
    ("deny-sh-c", DENY_RM, 'sh -c "echo; rm x"', D),
    ("deny-eval", DENY_RM, "eval 'rm x'", D),
    ("deny-eval-words", DENY_RM, "eval rm x", D),
    ("deny-alias", DENY_RM, "alias ll='rm x'", D),
    ("deny-find-exec", DENY_RM, "find . -exec rm {{}} +", D),
    ("deny-xargs", DENY_RM, "ls | xargs rm", D),
    ("deny-xargs-options", DENY_RM, "ls | xargs -0 -n1 rm -f", D),
    ("deny-other", DENY_RM, "'ls' x", A),
    # a trailing word that is a keyword elsewhere is still an argument
    ("deny-arg-done", {D: ["Bash(rm -rf done)"], A: ["Bash"]}, "rm -rf done", D),
    ("deny-arg-fi", {D: ["Bash(rm -rf fi)"], A: ["Bash"]}, "rm -rf fi", D),
    ("exact-allow-arg-done", {A: ["Bash(echo)"]}, "echo done", Q),
    ("keyword-done-ends-loop", allow("echo", "true"), "while true; do echo x; done", A),
]

CASES = REDIRECTS + WRITERS + DENY_NAMES


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    return make_places(tmp_path, monkeypatch)


def test_every_variant_has_its_own_name() -> None:
    assert len({case[0] for case in CASES}) == len(CASES) >= 150


@pytest.mark.parametrize(
    ("rules", "command", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_shell_path(
    places: dict[str, Path], rules: dict[str, list[str]], command: str, expected: str
) -> None:
    decision = decide(places, rules, "Bash", {"command": command})
    assert decision.behavior == expected, decision.reason


# --- decoding, checked against bash itself ----------------------------------------------

LITERAL_WORDS = [
    "'a b'",
    '"a b"',
    "a\\ b",
    "'a'\"b\"c",
    '"a\\"b"',
    '"a\\$b"',
    '"a\\xb"',
    "'a\\b'",
    "a\\\\b",
    "$'a\\tb'",
    "$'\\x41\\101\\x2f'",
    "$'it\\'s'",
    "$'\\cA\\e\\\\'",
    "$'\\q'",
    '$"hi there"',
    "a$",
    '"$"',
    "a$/b",
    "'$X'",
    "\\$X",
    '"\\`x\\`"',
    "~",
    "~/x",
    "'~'/x",
    '"~"/x',
    "\\~/x",
    "x~",
    "~root/x",
    "~no_such_user_zz/x",
    "a=~/x",
    "a=b:~/x",
    "--opt=~/x",
    "'*'",
    '"x{a,b}"',
    "\\{a,b}",
    "x{a}",
    "{}",
    "a]",
    "''",
    "..$'\\057'out",
]
EXPANDING_WORDS = [
    "$X",
    "${X}",
    '"$X"',
    "$(x)",
    "`x`",
    "*",
    "a?",
    "[ab]",
    "x{a,b}",
    "x{1..3}",
    "~+",
    "~-/x",
    "$1",
    "$@",
    '"$@"',
    "$$",
    "$[1]",
    "$((1))",
    "a=$X",
]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("word", LITERAL_WORDS)
def test_a_literal_word_decodes_as_bash_decodes_it(word: str, tmp_path: Path) -> None:
    from harness_tui.core.shell.words import decode_word

    home = str(tmp_path / "home")
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"printf '%s\\0' {word}"],
        capture_output=True,
        env={"HOME": home, "PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        check=True,
    )
    assert done.stdout.count(b"\0") == 1, done.stdout  # one word
    assert decode_word(word, home) == done.stdout[:-1].decode()


@pytest.mark.parametrize("word", EXPANDING_WORDS)
def test_a_word_bash_would_expand_is_unknown(word: str) -> None:
    from harness_tui.core.shell.words import decode_word

    assert decode_word(word, "/home/x") is None


# --- the Bash tool's own state: its folder and its HOME -----------------------------------


async def test_the_shell_state_is_the_bash_tools(places: dict[str, Path]) -> None:
    """``cd`` and ``export HOME`` persist in the Bash tool; its redirections follow them."""
    engine = make_engine(ALL, places, policy="deny")
    tool = BashTool()
    ctx = tool_context(places["w"])
    try:
        allowed = await engine.check(tool, {"command": "ls > x"}, ctx)
        assert allowed.allowed
        for setup in (f"cd {places['out']}", f"export HOME={places['w']}/.harness"):
            result = await tool.run({"command": setup}, ctx)
            assert not result.is_error, result.content
        relative = await engine.check(tool, {"command": "ls > x"}, ctx)
        assert not relative.allowed and "outside the workspace" in relative.reason
        home = await engine.check(tool, {"command": "ls > ~/settings.yaml"}, ctx)
        assert not home.allowed and "protected" in home.reason
    finally:
        await tool.aclose()


@pytest.mark.parametrize(
    "command",
    ["HOME={out} ls > ~/x", "HOME={out}; ls > ~/x", "export HOME={out} && ls > ~/x"],
    ids=["prefix", "assigned", "exported"],
)
def test_a_home_changed_on_the_line_makes_tilde_unknown(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("HOME", str(places["w"]))  # ~ alone would be inside
    assert decide(places, ALL, "Bash", {"command": "ls > ~/x"}).behavior == A
    assert decide(places, ALL, "Bash", {"command": command}).behavior == Q


@pytest.mark.parametrize(
    ("setup", "command"),
    [
        ("f() { cd {out}; }; export -f f", "f; ls > x"),
        ("ls() { rm -rf {out}/x; }; export -f ls", "ls"),
        ("printf 'cd {out}' > {w}/env.sh; export BASH_ENV={w}/env.sh", "ls > x"),
    ],
    ids=["function-cd", "function-shadows-ls", "bash-env"],
)
async def test_what_the_shell_was_taught_earlier_is_followed(
    places: dict[str, Path], setup: str, command: str
) -> None:
    """Exported functions and BASH_ENV persist in the Bash tool's environment and change
    what a later, allowed command does."""
    engine = make_engine(allow("ls", "f"), places, policy="deny")
    tool = BashTool()
    ctx = tool_context(places["w"])
    try:
        assert (await engine.check(tool, {"command": command}, ctx)).allowed
        result = await tool.run({"command": fill(setup, places)}, ctx)
        assert not result.is_error, result.content
        verdict = await engine.check(tool, {"command": command}, ctx)
        assert not verdict.allowed
    finally:
        await tool.aclose()


async def test_a_failing_check_asks(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too deep to split is unparsable; a defect in the checks asks instead of allowing
    or ending the run."""
    deep = "ls " + "$(" * 500 + "x" + ")" * 500
    assert decide(places, ALL, "Bash", {"command": deep}).behavior == A  # whole command
    assert decide(places, LS, "Bash", {"command": deep}).behavior == Q
    engine = make_engine(ALL, places, policy="deny")

    def broken(*args: Any) -> None:
        raise RecursionError("a defect")

    monkeypatch.setattr("harness_tui.core.permissions.engine.call_targets", broken)
    verdict = await engine.check(BashTool(), {"command": "ls"}, tool_context(places["w"]))
    assert not verdict.allowed and "the permission check failed" in verdict.reason


# --- a real session: with only `ls` allowed, nothing is written outside -------------------

END_TO_END = [
    "ls > '{out}/'made",
    'ls >"{out}/"made',
    "ls > /dev/..{out}/made",
    "ls > $'{out}/made'",
    "ls >& '{out}'/made",
    "ls > .harness/'settings.yaml'",
    "bash -c 'ls > {out}/made'",
]


@pytest.mark.parametrize("command", END_TO_END)
async def test_a_real_session_asks_before_writing(
    places: dict[str, Path], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = places["w"]
    (w / ".harness" / "settings.yaml").write_text(
        "permissions: {allow: ['Bash(ls:*)', 'Bash(bash:*)']}\n"
    )
    before = (w / ".harness" / "settings.yaml").read_text()
    call: dict[str, Any] = {"command": fill(command, places)}
    session, _ = scripted_in(
        w, [reply(ToolCall("Bash", call)), reply(Text("ok"))], ask_policy="deny", trusted=True
    )
    async with session:
        events = await run_to_end(session, "go")
    failed = [e for e in events if e.type == "TOOL_CALL_FAILED"]
    assert failed and failed[0].kind == "denied", [e.type for e in events]
    assert not (places["out"] / "made").exists()
    assert (w / ".harness" / "settings.yaml").read_text() == before

#!/usr/bin/env python3
"""Runs the shell steps of ../action.yml the way GitHub's composite-action runner does,
on this machine, against `wsspec serve` servers started by the action itself.

    python3 .github/run-action-locally.py          # every case below
    python3 .github/run-action-locally.py no-pong  # one case

Each step's `${{ }}` expressions are evaluated (inputs with defaults, steps.<id>.outputs,
runner.temp, always(), `!=`/`==` against '' and `&&`), `env:` and `working-directory:`
are applied, GITHUB_OUTPUT / GITHUB_PATH / GITHUB_STEP_SUMMARY work as on GitHub, and
`run:` goes to `bash --noprofile --norc -eo pipefail`. `uses:` steps (the artifact
upload) are not run; the harness checks that the path they would upload holds the
reports. Needs python3 with PyYAML, cargo, and a few minutes for the first
`cargo install` (a release build).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTION = yaml.safe_load(open(os.path.join(ROOT, "action.yml")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runner:
    def __init__(self, inputs, temp):
        self.inputs = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
        self.inputs.update(inputs)
        self.temp = temp
        self.outputs = {}
        self.path_extra = []
        self.failed = False
        self.summary = os.path.join(temp, "step-summary.md")

    def value(self, expr):
        expr = expr.strip()
        m = re.fullmatch(r"inputs\.([\w-]+)", expr)
        if m:
            return self.inputs[m.group(1)]
        m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if m:
            return self.outputs.get(m.group(1), {}).get(m.group(2), "")
        if expr == "runner.temp":
            return self.temp
        if expr == "always()":
            return True
        if "&&" in expr:
            return all(self.truthy(self.value(p)) for p in expr.split("&&"))
        m = re.fullmatch(r"(.+?)\s*(==|!=)\s*'([^']*)'", expr)
        if m:
            left = self.value(m.group(1))
            return (left == m.group(3)) == (m.group(2) == "==")
        raise ValueError(f"expression not understood by the harness: {expr!r}")

    @staticmethod
    def truthy(v):
        return v is True or (isinstance(v, str) and v != "")

    def subst(self, text):
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(self.value(m.group(1))), str(text))

    def condition(self, step):
        cond = step.get("if")
        if cond is None:
            return not self.failed
        cond = str(cond).strip()
        if cond.startswith("${{"):
            cond = cond[3:-2]
        uses_always = "always()" in cond
        return self.truthy(self.value(cond)) and (uses_always or not self.failed)

    def run(self):
        codes = []
        for step in ACTION["runs"]["steps"]:
            name = step.get("name") or step.get("id")
            if not self.condition(step):
                print(f"--- skipped: {name}")
                continue
            if "uses" in step:
                path = self.subst(step["with"]["path"])
                files = sorted(os.listdir(path)) if os.path.isdir(path) else []
                print(f"--- {name}: would upload {path}: {files}")
                self.uploaded = files
                continue
            print(f"--- {name}")
            files = {k: os.path.join(self.temp, f"{k}-{len(codes)}") for k in ("out", "path")}
            for f in files.values():
                open(f, "w").close()
            env = dict(os.environ)
            env.update({k: self.subst(v) for k, v in (step.get("env") or {}).items()})
            env.update(
                GITHUB_ACTION_PATH=ROOT,
                RUNNER_TEMP=self.temp,
                GITHUB_OUTPUT=files["out"],
                GITHUB_PATH=files["path"],
                GITHUB_STEP_SUMMARY=self.summary,
                PATH=os.pathsep.join(self.path_extra + [os.environ["PATH"]]),
            )
            cwd = self.subst(step.get("working-directory", "."))
            script = os.path.join(self.temp, f"step-{len(codes)}.sh")
            with open(script, "w") as f:
                f.write(self.subst(step["run"]))
            rc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                env=env,
                cwd=cwd,
                timeout=1800,
            ).returncode
            codes.append((name, rc))
            if "id" in step:
                outs = {}
                for line in open(files["out"]):
                    if "=" in line:
                        k, v = line.rstrip("\n").split("=", 1)
                        outs[k] = v
                self.outputs[step["id"]] = outs
            self.path_extra = [l.strip() for l in open(files["path"]) if l.strip()] + self.path_extra
            if rc != 0:
                print(f"--- {name}: exit {rc}")
                self.failed = True
        return codes


def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
        return True
    except (ProcessLookupError, ValueError):
        return False


def case(name, inputs, job_exit, reports=True):
    temp = tempfile.mkdtemp(prefix=f"wsspec-action-{name}-")
    print(f"\n===== {name}: {inputs}")
    r = Runner(inputs, temp)
    codes = r.run()
    final = codes[-1]
    problems = []
    if final[1] != job_exit:
        problems.append(f"the job ended with {final[1]}, expected {job_exit}")
    pid = r.outputs.get("server", {}).get("pid")
    if pid and pid_alive(pid):
        problems.append(f"server pid {pid} still runs")
        os.killpg(int(pid), 9)
    uploaded = getattr(r, "uploaded", [])
    if reports and not {"report.json", "junit.xml", "html"} <= set(uploaded):
        problems.append(f"reports missing from the upload: {uploaded}")
    if reports and "exit code" not in open(r.summary).read():
        problems.append("no step summary")
    shutil.rmtree(temp, ignore_errors=True)
    print(f"===== {name}: {'ok' if not problems else 'PROBLEMS: ' + '; '.join(problems)}")
    return not problems


def main():
    port = free_port()
    scenario = os.path.join(tempfile.mkdtemp(prefix="wsspec-action-scn-"), "echo.toml")
    with open(scenario, "w") as f:
        f.write(
            '[scenario]\nname = "echo"\n\n'
            '[[step]]\naction = "connect"\nconn = "a"\npath = "/"\n\n'
            '[[step]]\naction = "send"\nconn = "a"\ntext = "hi"\n\n'
            '[[step]]\naction = "expect"\nconn = "a"\nmatch = { text = "hi" }\n'
        )
    cases = {
        "pass": dict(
            inputs={"url": f"ws://127.0.0.1:{port}/", "server-command": f"wsspec serve --port {port}",
                    "args": "--cases 1.1.*,2.1"},
            job_exit=0,
        ),
        "no-pong": dict(
            inputs={"url": f"ws://localhost:{port}/",
                    "server-command": f"exec wsspec serve --port {port} --fault no_pong",
                    "args": "--cases 2.*"},
            job_exit=1,
        ),
        "scenario": dict(
            inputs={"mode": "scenario", "profile": scenario, "url": f"http://127.0.0.1:{port}/",
                    "server-command": f"wsspec serve --port {port}"},
            job_exit=0,
        ),
        "server-dies": dict(
            inputs={"url": f"ws://127.0.0.1:{port}/", "server-command": "echo boom >&2; exit 3"},
            job_exit=2,
        ),
        "never-listens": dict(
            inputs={"url": f"ws://127.0.0.1:{port}/", "server-command": "sleep 60",
                    "server-timeout": "3"},
            job_exit=2,
        ),
        "bad-mode": dict(inputs={"mode": "fuzz"}, job_exit=2),
    }
    chosen = sys.argv[1:] or list(cases)
    results = {n: case(n, reports=n not in ("server-dies", "never-listens", "bad-mode"), **cases[n])
               for n in chosen}
    print("\n" + "\n".join(f"{n}: {'ok' if ok else 'FAILED'}" for n, ok in results.items()))
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()

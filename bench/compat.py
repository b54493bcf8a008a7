#!/usr/bin/env python
"""Does a checkpoint's own code run on the transformers a user already has? Every release checked in a clean
virtual environment.

1. Builds, with the installed package, a tiny release checkpoint (`examples/build_synthesizer_bert_256.py` with the
   tiny settings of its docstring, repo id `org/synthesizer-bert-256`) and a tiny memorization checkpoint
   (`examples/run_program_memorization.py --recipe tiny`, repo id `org/synthesizer-tiny`), and places both in a
   Hugging Face cache in the layout huggingface_hub reads offline.
2. Runs the checks of `bench/compat_checks.py` once with the installed package's classes: the expected outputs.
3. For each transformers version: a virtual environment with only torch, that transformers and safetensors (what
   pip resolves for them; nothing of this project), cached under `--cache_dir` between runs and created one at a
   time; the same checks run there through the checkpoints' own code (`trust_remote_code=True`), by folder and by
   repo id (`HF_HUB_OFFLINE=1`), each in a fresh copy of the cache, and every output is compared with the expected
   one (integers and text exactly, floats to 1e-4).

The checks (one column each): `config` (AutoConfig), `model` (AutoModel: the three heads' logits on every instruction
of every program), `tokenizer` (AutoTokenizer), `hub_cache` (the same three and a run, by repo id), `pipeline`
(`pipeline("subleq-execution", ...)`: every program by each strategy, batched, streamed, decoded whole),
`named_io` (named inputs and outputs of the release programs), `refusals` (every refusal and bad-input error: its
type and message), `traces` (`return_trace=True`) and `model_card` (each card's code, verbatim, by repo id).

    python bench/compat.py                                  # every version below; writes bench/results/compat.*
    python bench/compat.py --versions oldest newest --check   # CI: exit status 1 on any failure, nothing written

`oldest` is the oldest supported release, `newest` the newest release pip finds. A tenth column, `package`, runs
the same checks with the installed package's classes in each environment (`--no_package` skips it). The first run
downloads and installs each version (one to two minutes each, 1.5 GB of disk per environment with torch); later runs
reuse the environments: about a minute a version on a shared 2-core CPU.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthesizer_examples.run_info import launch_command, machine_description


ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHECKS_SCRIPT = ROOT / "bench" / "compat_checks.py"


# The oldest transformers a checkpoint's code and the installed package support (README, pyproject.toml).
OLDEST = "4.50.3"
# The latest patch of each minor release asked for, from the oldest supported one to the newest at the time of
# writing; `newest` adds whatever pip finds newer.
DEFAULT_VERSIONS = (OLDEST, "4.53.3", "4.57.6", "5.0.0", "5.5.4", "5.10.4", "5.15.1", "5.20.2", "5.25.0")
# A release the code refuses (it lacks `PretrainedConfig.get_text_config`): its row passes when every check stops with
# the ImportError that names the version to install.
UNSUPPORTED = ("4.40.2",)
REFUSAL = "the Synthesizer's code needs transformers 4.50 or newer"
TORCH_VERSION = "2.13.0"
CHECKS = ("config", "model", "tokenizer", "hub_cache", "pipeline", "named_io", "refusals", "traces", "model_card")
# Floats (logits, confidences) may differ in the last bits across releases' attention code.
ATOL, RTOL = 1e-4, 1e-4
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # any 40 hex digits: refs/main names the snapshot
READY = ".compat-ready"  # written into an environment once its install finished: `pip freeze`
CHECK_TIMEOUT_S = 900

RELEASE_REPO, MEMORIZED_REPO = "org/synthesizer-bert-256", "org/synthesizer-tiny"
# The tiny settings of build_synthesizer_bert_256.py's docstring (seconds of training).
RELEASE_ARGS = (
    "--programs add,absolute --data_memory_size 4 --max_program_length 4 --hidden_size 64 --num_hidden_layers 2 "
    "--num_attention_heads 2 --intermediate_size 128 --label_smoothing 0 --instruction_repeats 1 "
    "--per_device_train_batch_size 8 --learning_rate 3e-3 --warmup_steps 0 --num_train_epochs 100 --eval_steps 20 "
    f"--save_strategy no --num_inputs 20 --hub_model_id {RELEASE_REPO} --seed 0"
).split()
MEMORIZED_ARGS = f"--recipe tiny --save_strategy no --hub_model_id {MEMORIZED_REPO} --seed 0".split()
QUIET = ["--disable_tqdm", "true", "--log_level", "warning", "--report_to", "none"]


def clean_env(hf_home: Path) -> dict:
    """What a check process sees: no virtual environment, Python path or Hub access of ours; its own cache."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not name.startswith("HF_")}
    env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), PYTHONWARNINGS="ignore")
    return env


def build_checkpoints(work: Path) -> dict[str, Path]:
    """Trains the two tiny checkpoints with the installed package; returns name -> folder (each with `compat.json`
    naming its repo id)."""
    folders = {}
    for name, script, args, repo_id in [
        ("release", "examples/build_synthesizer_bert_256.py", RELEASE_ARGS, RELEASE_REPO),
        ("memorized", "examples/run_program_memorization.py", MEMORIZED_ARGS, MEMORIZED_REPO),
    ]:
        folder = work / name
        command = [sys.executable, script, *args, *QUIET, "--output_dir", str(folder)]
        print(f"building the {name} checkpoint: {' '.join(command[1:])}", flush=True)
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        built = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if built.returncode != 0:
            raise SystemExit(f"building the {name} checkpoint failed:\n{built.stderr[-3000:]}")
        (folder / "compat.json").write_text(json.dumps({"hub_repo_id": repo_id}))
        folders[name] = folder
    return folders


def hub_cache(folders: dict[str, Path], hf_home: Path) -> None:
    """Places each folder (without `checkpoint-*`) in `hf_home`'s hub cache under its repo id, at `COMMIT`."""
    for folder in folders.values():
        repo_id = json.loads((folder / "compat.json").read_text())["hub_repo_id"]
        repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
        shutil.copytree(folder, repo / "snapshots" / COMMIT, ignore=shutil.ignore_patterns("checkpoint-*"))
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(COMMIT)  # no newline, as huggingface_hub writes it


def run_checks(python: str, folders: dict[str, Path], hf_home: Path, work: Path, package: bool) -> dict:
    """Runs compat_checks.py with `python` in a fresh copy of the cache; its report, or `{"error": ...}`."""
    home = Path(tempfile.mkdtemp(prefix="hf_home-", dir=work))
    shutil.copytree(hf_home, home, dirs_exist_ok=True)
    # -I: neither this checkout nor the user's site-packages is importable, only what the environment installed.
    # With `package`, this checkout's package is importable too (PYTHONPATH), and -s -P keep the rest out as -I does.
    report, env, isolation = home / "report.json", clean_env(home), ["-I"]
    if package:
        isolation, env["PYTHONPATH"] = ["-s", "-P"], str(ROOT)
    command = [python, *isolation, str(CHECKS_SCRIPT), "--release", str(folders["release"]),
               "--memorized", str(folders["memorized"]), "--report", str(report)]
    if package:
        command.append("--package")
    try:
        ran = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
        if ran.returncode != 0 or not report.is_file():
            return {"error": f"the checks exited with status {ran.returncode}: {ran.stderr.strip()[-2000:]}"}
        return json.loads(report.read_text())
    except subprocess.TimeoutExpired:
        return {"error": f"the checks ran past {CHECK_TIMEOUT_S} s"}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def resolve_newest(python: str) -> str:
    """The newest transformers release pip would install."""
    report = subprocess.run(
        [python, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps", "--ignore-installed", "--report", "-",
         "transformers"], capture_output=True, text=True, check=True,
    )
    return json.loads(report.stdout)["install"][0]["metadata"]["version"]


def environment(cache: Path, version: str) -> tuple[Path | None, str]:
    """The cached virtual environment of `version` (created first if needed); `(python, "")` or `(None, why)`."""
    venv = cache / "venvs" / f"transformers-{version}"
    python = venv / "bin" / "python"
    if (venv / READY).is_file():
        return python, ""
    shutil.rmtree(venv, ignore_errors=True)  # an install that was interrupted
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"creating {venv} (torch {TORCH_VERSION}, transformers {version}, safetensors)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"torch=={TORCH_VERSION}",
         f"transformers=={version}", "safetensors"], capture_output=True, text=True,
    )
    if install.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        return None, f"pip install failed: {install.stderr.strip()[-500:]}"
    freeze = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True)
    (venv / READY).write_text(freeze.stdout)
    return python, ""


def installed_versions(python: Path) -> dict[str, str]:
    """The versions of the libraries a check depends on, from the environment's `pip freeze`."""
    frozen = dict(line.split("==", 1) for line in (python.parent.parent / READY).read_text().splitlines()
                  if "==" in line)
    names = {name.lower().replace("_", "-"): version for name, version in frozen.items()}
    return {name: names.get(name, "?") for name in ("transformers", "huggingface-hub", "tokenizers", "safetensors")}


def first_difference(expected, got, path: str = "") -> str | None:
    """Where `got` first differs from `expected` (floats to ATOL + RTOL |expected|), or None."""
    if isinstance(expected, float) or isinstance(got, float):
        if isinstance(expected, (int, float)) and isinstance(got, (int, float)) and not isinstance(got, bool):
            if abs(got - expected) <= ATOL + RTOL * abs(expected):
                return None
        return f"{path}: expected {expected!r}, got {got!r}"
    if type(expected) is not type(got):
        return f"{path}: expected {type(expected).__name__} {shorten(expected)}, got {type(got).__name__} " \
               f"{shorten(got)}"
    if isinstance(expected, dict):
        if expected.keys() != got.keys():
            return f"{path}: keys {sorted(expected)} expected, got {sorted(got)}"
        for key in expected:
            difference = first_difference(expected[key], got[key], f"{path}.{key}" if path else str(key))
            if difference:
                return difference
        return None
    if isinstance(expected, list):
        if len(expected) != len(got):
            return f"{path}: {len(expected)} items expected, got {len(got)}"
        for index, (a, b) in enumerate(zip(expected, got)):
            difference = first_difference(a, b, f"{path}[{index}]")
            if difference:
                return difference
        return None
    return None if expected == got else f"{path}: expected {shorten(expected)}, got {shorten(got)}"


def shorten(value, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare(expected: dict, report: dict, supported: bool = True) -> dict[str, dict]:
    """Check name -> `{"pass": bool, "detail": why not}` of one environment's report; on an unsupported version, a
    check passes when it stopped with the ImportError that names the version needed."""
    if not supported:
        verdicts = {}
        for name in CHECKS:
            got = report.get("checks", {}).get(name, {"ok": True, "error": report.get("error", "")})
            refused = not got["ok"] and got["error"].startswith("ImportError: ") and REFUSAL in got["error"]
            verdicts[name] = {"pass": refused, "detail": "" if refused else f"not refused: {got.get('error', 'ran')}"}
        return verdicts
    if "error" in report:
        return {name: {"pass": False, "detail": report["error"]} for name in CHECKS}
    verdicts = {}
    for name in CHECKS:
        want, got = expected["checks"][name], report["checks"].get(name, {"ok": False, "error": "not run"})
        if not got["ok"]:
            verdicts[name] = {"pass": False, "detail": got["error"]}
            continue
        difference = first_difference(want["value"], got["value"])
        verdicts[name] = {"pass": difference is None, "detail": difference or ""}
    return verdicts


def columns(args) -> tuple[str, ...]:
    return CHECKS if args.no_package else (*CHECKS, "package")


def markdown(results: dict) -> str:
    rows, names = results["versions"], results["checks"]
    lines = [
        "# A checkpoint's code on every transformers release",
        "",
        f"Generated by `bench/compat.py`. Command: `{results['command']}`.",
        "",
        f"Machine: {results['machine']}.",
        "",
        "A tiny release checkpoint (`examples/build_synthesizer_bert_256.py`, the tiny settings of its docstring) and "
        "a tiny memorization checkpoint (`examples/run_program_memorization.py --recipe tiny`) were built once with "
        f"the installed package (transformers {results['reference']['transformers']}). Each row ran the checks in a "
        f"clean virtual environment with torch {TORCH_VERSION}, that transformers and safetensors only "
        "(huggingface_hub and tokenizers as pip resolved them), through the checkpoints' own code "
        "(`trust_remote_code=True`), and compared every output with the installed package's: `pass` means equal "
        "(floats to 1e-4).",
        "",
        "| transformers | huggingface_hub | tokenizers | " + " | ".join(f"`{name}`" for name in names) + " | time |",
        "| --- | --- | --- | " + " | ".join("---" for _ in names) + " | ---: |",
    ]
    for row in rows:
        supported = row.get("supported", True)
        good = "pass" if supported else "refused"
        cells = [good if row["checks"][name]["pass"] else "**FAIL**" for name in names]
        versions = row.get("installed", {})
        lines.append(f"| {row['version']}{'' if supported else ' (unsupported)'} | "
                     f"{versions.get('huggingface-hub', '?')} | {versions.get('tokenizers', '?')} | "
                     + " | ".join(cells) + f" | {row['seconds']:.0f} s |")
    supported_rows = [row for row in rows if row.get("supported", True)]
    passed = sum(all(check["pass"] for check in row["checks"].values()) for row in supported_rows)
    lines += ["", f"{passed} of {len(supported_rows)} supported versions pass every check."]
    refused = [row["version"] for row in rows if not row.get("supported", True)
               and all(check["pass"] for check in row["checks"].values())]
    if refused:
        lines += ["", f"On {', '.join(refused)}, older than the oldest supported release, every check stops at "
                  f"loading with `ImportError: {REFUSAL}, found ...` (`refused`)."]
    failures = [(row["version"], name, check["detail"]) for row in rows for name, check in row["checks"].items()
                if not check["pass"]]
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- {version} `{name}`: {detail.splitlines()[0] if detail else ''}"
                  for version, name, detail in failures]
    lines += [
        "",
        "## The checks",
        "",
        "- `config`: `AutoConfig.from_pretrained(folder, trust_remote_code=True)` of both checkpoints: class, sizes, "
        "backbone, known programs, input format.",
        "- `model`: `AutoModel.from_pretrained(folder, trust_remote_code=True)`: the A, B and C logits on every "
        "instruction of every known program.",
        "- `tokenizer`: `AutoTokenizer.from_pretrained(folder)`: the token ids of those inputs.",
        "- `hub_cache`: the same three by repo id from a Hugging Face cache (`HF_HUB_OFFLINE=1`), and one pipeline "
        "run.",
        "- `pipeline`: `pipeline(\"subleq-execution\", model=folder, trust_remote_code=True)`: every memorized "
        "program by each strategy, one at a time and with `batch_size=2`, from a generator, and `decode_program`.",
        "- `named_io`: every trained description of the release programs on random named inputs, as a batch of input "
        "dicts, and without inputs (refused): `outputs`, `memory`, `steps`, `halt_reason`.",
        "- `refusals`: 14 refusals and bad inputs (unknown descriptions, a refused list item, unknown input names, "
        "memories of the wrong length, bad arguments, `min_confidence`): the error's type and message.",
        "- `traces`: `return_trace=True` on every program of both checkpoints, with each step's confidence.",
        "- `model_card`: each checkpoint's model card, its Python code run verbatim (loading by repo id): what it "
        "prints.",
        "- `package`: all of the above with the installed package's classes (`SynthesizerForSubleq.from_pretrained`, "
        "the pipeline on a model instance; this checkout on the path) in the same environment: the range "
        "`pyproject.toml` declares.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", nargs="+", default=None, metavar="VERSION",
                        help=f"transformers versions to check: exact releases, 'oldest' ({OLDEST}, the oldest "
                             "supported) or 'newest' (the newest on the package index); default: "
                             + " ".join(DEFAULT_VERSIONS) + ".")
    parser.add_argument("--unsupported", nargs="+", default=None, metavar="VERSION",
                        help="Releases older than the oldest supported, checked to stop with an ImportError naming "
                             f"the version needed; default: {' '.join(UNSUPPORTED)} without --versions, else none.")
    parser.add_argument("--no_package", action="store_true",
                        help="Skip the `package` column: the same checks with the installed package's classes (this "
                             "checkout on the path) in each environment.")
    parser.add_argument("--cache_dir", default=str(Path.home() / ".cache" / "synthesizer-compat"),
                        help="Where the virtual environments are kept between runs (default: %(default)s).")
    parser.add_argument("--checkpoints", default=None,
                        help="A folder holding release/ and memorized/ checkpoints (each with compat.json naming its "
                             "repo id) to check instead of building them.")
    parser.add_argument("--expected", choices=("package", "checkpoint"), default="package",
                        help="What gives the expected outputs: the installed package's classes (default), or the "
                             "checkpoints' own code under the installed transformers (to try edited checkpoint code "
                             "with --checkpoints).")
    parser.add_argument("--check", action="store_true",
                        help="Exit with status 1 when any check fails on any version, and write no results (CI).")
    parser.add_argument("--results_dir", default=str(RESULTS), help="Where compat.json and compat.md go.")
    args = parser.parse_args(argv)
    if args.unsupported is None:
        args.unsupported = list(UNSUPPORTED) if args.versions is None else []
    if args.versions is None:
        args.versions = list(DEFAULT_VERSIONS)
    for version in [*args.versions, *args.unsupported]:
        if version not in ("oldest", "newest") and not all(part.isdigit() for part in version.split(".")):
            parser.error(f"--versions: {version!r} is not a release number such as 4.50.3, nor 'oldest' or 'newest'")
    if args.checkpoints is not None and not all((Path(args.checkpoints) / name / "compat.json").is_file()
                                                for name in ("release", "memorized")):
        parser.error(f"--checkpoints: {args.checkpoints} must hold release/ and memorized/, each with compat.json")

    cache = Path(args.cache_dir).expanduser()
    command = launch_command("bench/compat.py", argv)
    machine = machine_description()
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        work = Path(tmp)
        if args.checkpoints is None:
            folders = build_checkpoints(work)
        else:
            folders = {name: Path(args.checkpoints).resolve() / name for name in ("release", "memorized")}
        hf_home = work / "hf_home"
        hub_cache(folders, hf_home)
        expected = run_checks(sys.executable, folders, hf_home, work, package=args.expected == "package")
        failed = [name for name, check in expected.get("checks", {}).items() if not check["ok"]]
        if "error" in expected or failed:
            raise SystemExit(f"the installed package fails its own checks: {expected.get('error') or failed}\n"
                             + "\n".join(expected["checks"][name]["traceback"] for name in failed))
        rows = []
        for version in [*args.unsupported, *args.versions]:
            if version == "oldest":
                version = OLDEST
            elif version == "newest":
                version = resolve_newest(sys.executable)
            if any(row["version"] == version for row in rows):
                continue
            python, why = environment(cache, version)
            if python is None:
                rows.append({"version": version, "seconds": 0.0,
                             "checks": {name: {"pass": False, "detail": why} for name in columns(args)}})
                continue
            start = time.perf_counter()
            supported = version not in args.unsupported
            report = run_checks(str(python), folders, hf_home, work, package=False)
            row = {"version": version, "installed": installed_versions(python), "supported": supported,
                   "checks": compare(expected, report, supported)}
            if not args.no_package:
                verdicts = compare(expected, run_checks(str(python), folders, hf_home, work, package=True), supported)
                failed = [f"{name}: {check['detail']}" for name, check in verdicts.items() if not check["pass"]]
                row["checks"]["package"] = {"pass": not failed, "detail": failed[0] if failed else ""}
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
            failures = [name for name, check in row["checks"].items() if not check["pass"]]
            passes = "every check passes" if supported else "every check stops with the ImportError naming the version"
            print(f"transformers {version}: " + (passes if not failures else
                                                 "FAIL " + "; ".join(f"{name}: {row['checks'][name]['detail'][:300]}"
                                                                     for name in failures)), flush=True)
    results = {"command": command, "machine": machine, "torch": TORCH_VERSION,
               "reference": {"transformers": expected["transformers"], "torch": expected["torch"]},
               "checks": list(columns(args)), "versions": rows}
    all_pass = all(check["pass"] for row in rows for check in row["checks"].values())
    if args.check:
        print(f"{sum(all(c['pass'] for c in row['checks'].values()) for row in rows)} of {len(rows)} transformers "
              "versions pass every check")
        return 0 if all_pass else 1
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compat.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "compat.md").write_text(markdown(results))
    print(f"wrote {out / 'compat.json'} and {out / 'compat.md'}")
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where a program library comes from: `load_program_library(spec)` reads what a script's `--programs` names.

- `builtin`, `all` or a comma-separated list of built-in names (`add,sort`): the built-in programs
  (`modeling_synthesizer/programs`), in the package's order for `all` and in the given order for a list;
- a folder: every `*.asm` file in it, each with its header (`modeling_synthesizer.program_library`);
- a local data file (`.json`, `.jsonl`, `.csv` or `.parquet`) or a Hub dataset repo id (`org/my-programs`): one
  program per row, read with `datasets.load_dataset`, in the columns `name`, `source`, `descriptions` (a list of
  str) and `tests` (a list of `{"inputs": {...}, "outputs": {...}}` or of strings `"a=2 b=3 -> sum=5"`). In a CSV
  file, whose cells are text, `descriptions` and `tests` hold a JSON list, or one item per line.

Built-in names come first: a folder named like a built-in program is read as `./add`. Errors name the file and line,
or the dataset row. Not part of the remote code (it needs `datasets`).
"""

from __future__ import annotations

import json
from pathlib import Path

from modeling_synthesizer.program_library import (
    PROGRAMS,
    LibraryError,
    LibraryProgram,
    list_programs,
    read_library,
    read_records,
)


DATA_FILE_FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
BUILTIN = ("builtin", "all")


def _builtin_names(spec: str) -> list[str] | None:
    """The built-in names `spec` lists, or None when it is no list of built-in names."""
    if spec in BUILTIN:
        return list_programs()
    names = [name.strip() for name in spec.split(",")]
    if not any(names):
        raise LibraryError("--programs: no library program given")
    if "," in spec and not all(names):
        raise LibraryError(f"--programs {spec}: an empty name between commas")
    if all(name in PROGRAMS for name in names):
        if len(set(names)) != len(names):
            repeated = sorted({name for name in names if names.count(name) > 1})
            raise LibraryError(f"--programs: {', '.join(map(repr, repeated))} named twice")
        return names
    return None


def _text_list(value, row: int, column: str, spec: str):
    """A CSV cell of a list column: a JSON list, or one item per line."""
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise LibraryError(f"{spec} row {row}, column {column!r}: not a JSON list ({error.msg} at character "
                               f"{error.pos})") from None
    return [line for line in value.splitlines() if line.strip()]


def _load_rows(spec: str, data_files: str | None):
    import datasets  # examples-only dependency

    try:
        if data_files is not None:
            dataset = datasets.load_dataset(DATA_FILE_FORMATS[Path(data_files).suffix.lower()], data_files=data_files,
                                            split="train")
        else:
            dataset = datasets.load_dataset(spec, split="train")
    except (OSError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        raise LibraryError(f"{spec}: cannot be read as a dataset of programs: {error}") from None
    missing = [column for column in ("name", "source") if column not in dataset.column_names]
    if missing:
        raise LibraryError(f"{spec}: no column {', '.join(map(repr, missing))}; a dataset of programs has the columns "
                           f"name, source, descriptions and tests (it has {', '.join(dataset.column_names)})")
    return dataset


def load_program_library(spec: str) -> list[LibraryProgram]:
    """The programs `spec` names (see the module docstring).

    Args:
        spec: `builtin`, `all`, built-in names separated by commas, a folder, a `.json`/`.jsonl`/`.csv`/`.parquet`
            file or a Hub dataset repo id.

    Returns:
        The programs: built-ins in the order named (`builtin`/`all`: the package's order), any other library sorted
        by name.

    Raises:
        LibraryError: naming the file, line and column or the dataset row: an unknown name, a missing file or
            dataset, or any error of `read_library` / `read_records`.
    """
    spec = spec.strip()
    if not spec:
        raise LibraryError("--programs is empty: name built-in programs, a folder, a data file or a Hub dataset")
    names = _builtin_names(spec)
    if names is not None:
        return [PROGRAMS[name] for name in names]
    path = Path(spec)
    if path.is_dir():
        return read_library(path)
    if path.suffix.lower() in DATA_FILE_FORMATS:
        if not path.is_file():
            raise LibraryError(f"{spec}: no such file")
        rows = _load_rows(spec, str(path))
    elif spec.count("/") == 1 and not path.exists() and "," not in spec:
        rows = _load_rows(spec, None)
    else:
        unknown = [name.strip() for name in spec.split(",") if name.strip() not in PROGRAMS]
        raise LibraryError(f"--programs: no library program {', '.join(map(repr, unknown))}; the built-in programs "
                           f"are {', '.join(list_programs())} (or 'builtin'), and {spec!r} is no folder, "
                           f"{'/'.join(DATA_FILE_FORMATS)} file or Hub dataset id")
    records = []
    for row, record in enumerate(rows):
        record = dict(record)
        for column in ("descriptions", "tests"):
            record[column] = _text_list(record.get(column), row, column, spec)
        records.append(record)
    return read_records(records, spec)


__all__ = ["load_program_library"]

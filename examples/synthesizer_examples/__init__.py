"""What the example scripts share: argument parsing and Trainer helpers (`training`), the experiments' data
(`memorization`, `soft_programs`, `text_classification`, `library`), their metrics (`metrics`, over the `evaluate`
modules in `examples/metrics/`) and checkpoints that are complete Hub repositories (`checkpoint`, `model_card`).

`pip install -e .` installs it next to `modeling_synthesizer` (pyproject.toml maps it to this folder), so that bench
scripts, data scripts and tests import it like any package; the scripts in `examples/` find it as their sibling
folder. It is not part of a checkpoint's code. Its metrics load the `evaluate` module in `examples/metrics/`, so it
is meant for the editable install of a checkout.
"""

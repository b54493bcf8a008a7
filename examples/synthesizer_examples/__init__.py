"""What the example scripts share: argument parsing and Trainer helpers (`training`), the experiments' data
(`memorization`, `soft_programs`, `sst2`, `library`), their metrics (`metrics`, over the `evaluate` modules in
`examples/metrics/`) and checkpoints that are complete Hub repositories (`checkpoint`, `model_card`).

The scripts in `examples/` import it as a sibling folder (`python examples/run_*.py` puts `examples/` on
`sys.path`); it is not part of the installed `modeling_synthesizer` package.
"""

"""Synthesizer: a Transformers model that memorizes subleq programs and runs them.

Importing the package registers `SynthesizerConfig` with `AutoConfig`, `SynthesizerForSubleq` with `AutoModel`
(and both for `auto_map`, so that saved checkpoints carry their code for `trust_remote_code=True`), and the
`"subleq-execution"` task of `transformers.pipeline`.
"""

from transformers import AutoConfig, AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_synthesizer import SynthesizerConfig
from .modeling_synthesizer import SynthesizerForSubleq, SynthesizerOutput, SynthesizerPreTrainedModel
from .pipeline_synthesizer import SUBLEQ_TASK, SubleqPipeline
from .subleq import SubleqBatchResult, SubleqError, SubleqResult, run_subleq, run_subleq_batch


try:  # the batched machine's numba kernel registers itself with subleq.py; without numba the tensor path runs
    from . import fast_subleq  # noqa: F401
except ImportError:  # pip install synthesizer[fast]
    pass


__version__ = "0.1.0"

AutoConfig.register(SynthesizerConfig.model_type, SynthesizerConfig, exist_ok=True)
AutoModel.register(SynthesizerConfig, SynthesizerForSubleq, exist_ok=True)
# Writes `auto_map` and copies the code files into every saved checkpoint.
SynthesizerConfig.register_for_auto_class()
SynthesizerForSubleq.register_for_auto_class("AutoModel")
# `pipeline("subleq-execution", model=...)`. `pt_model` must be a class that exists in transformers: a saved
# pipeline stores its name in `custom_pipelines` and the loader resolves it with `getattr(transformers, name)`.
PIPELINE_REGISTRY.register_pipeline(SUBLEQ_TASK, pipeline_class=SubleqPipeline, pt_model=AutoModel, type="text")

__all__ = [
    "SynthesizerConfig",
    "SynthesizerForSubleq",
    "SynthesizerOutput",
    "SynthesizerPreTrainedModel",
    "SubleqBatchResult",
    "SubleqError",
    "SubleqPipeline",
    "SubleqResult",
    "run_subleq",
    "run_subleq_batch",
]

"""The model card of every checkpoint the example scripts write: one template, filled from the run.

A card is tested as written (`tests/test_model_cards.py`): its Python blocks run verbatim, in a process that has only
torch and transformers, against the folder they describe. So every code block a card shows must run as is, with the
repo id it names.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from huggingface_hub import ModelCard, ModelCardData

from .run_info import redact_settings


CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

{{ summary }}

## Task

{{ task_description }}

## Results

| metric | value |
| --- | --- |
{% for name, value in results.items() %}| {{ name }} | {{ value }} |
{% endfor %}

## Usage

```python
{{ usage }}
```

## Training

Trained with `{{ script }}`:

```json
{{ training_settings }}
```
"""


@dataclass
class ModelCardSpec:
    """
    What a run knows about its checkpoint's card. The Trainer of `checkpoint.py` writes it into every saved folder,
    naming that folder's repo id, so `results` may be filled in as the run learns them.

    Attributes:
        summary: what the model is, in a paragraph of markdown.
        task_description: what it was trained to do, and where the run's own files (programs.json, ...) are.
        usage: `usage(repo_id)` gives the Python code of the Usage section; it must run as is.
        script: the example script that trained it, e.g. "examples/run_program_memorization.py".
        training_settings: the settings to record (JSON-serializable, or turned into strings).
        results: metric name -> value; `None` values are left out.
        dataset: the Hub dataset it was trained on, if any.
        pipeline_tag: the Hub's task tag, e.g. "text-classification" (None for the subleq task, which the Hub does
            not know).
        tags: the Hub's tags.
        eval_results: `huggingface_hub.EvalResult`s for the card's `model-index` metadata (the Hub shows them on
            the model page), named after the repository.
    """

    summary: str
    task_description: str
    usage: Callable[[str], str]
    script: str
    training_settings: dict
    results: dict = field(default_factory=dict)
    dataset: str | None = None
    pipeline_tag: str | None = None
    tags: list[str] = field(default_factory=lambda: ["synthesizer", "subleq", "program-execution"])
    eval_results: list = field(default_factory=list)

    def build(self, repo_id: str) -> ModelCard:
        """The card of the repository `repo_id` (a Hub id, or the local folder's path)."""
        model_name = repo_id.rstrip("/").split("/")[-1]
        card_data = ModelCardData(
            library_name="transformers",
            license="apache-2.0",
            tags=list(self.tags),
            datasets=[self.dataset] if self.dataset else None,
            pipeline_tag=self.pipeline_tag,
            # model-index needs the model's name; without results the card has neither.
            model_name=model_name if self.eval_results else None,
            eval_results=list(self.eval_results) or None,
        )
        return ModelCard.from_template(
            card_data,
            template_str=CARD_TEMPLATE,
            model_name=model_name,
            summary=self.summary,
            task_description=self.task_description,
            results={name: value for name, value in self.results.items() if value is not None},
            usage=self.usage(repo_id).strip(),
            script=self.script,
            training_settings=json.dumps(self.training_settings, indent=2, sort_keys=True, default=str),
        )


def card_training_settings(flags: dict, training_args) -> dict:
    """The settings a card records: the script's own `flags` and the optimization's (learning rate, total batch,
    epochs, seed), every secret redacted."""
    return redact_settings({
        **flags, "learning_rate": training_args.learning_rate,
        "batch_size": training_args.per_device_train_batch_size * training_args.world_size,
        "num_train_epochs": training_args.num_train_epochs, "seed": training_args.seed,
    })

def synthesizer_summary(config) -> str:
    """The summary paragraph of a Synthesizer checkpoint."""
    text = config.text_config
    backbone = f"{text.model_type} ({getattr(text, 'num_hidden_layers', '?')} layers, hidden {text.hidden_size})"
    return (
        f'A Synthesizer ("Rethinking Neural Computation"): a {backbone} backbone with three heads that predicts the '
        "operands (A, B, C) of subleq instruction C_t of a described program. The `subleq-execution` pipeline runs "
        f"the predicted instructions on an external data memory of {config.data_memory_size} cells; programs have "
        f"at most {config.max_program_length} instructions. The repository carries its code: load it with "
        "`trust_remote_code=True` (torch and transformers are all it needs)."
    )


def subleq_usage(examples: list[str], memory: str | None = None, max_steps: int = 1000) -> Callable[[str], str]:
    """
    The Usage code of a Synthesizer checkpoint: load it, then run each description of `examples` through the
    `subleq-execution` pipeline and print each result.

    Args:
        examples: program descriptions the checkpoint knows.
        memory: a Python expression of the initial data memory (k integers), e.g. `"[0] * 16"`; None runs on the
            checkpoint's own memory image (`config.memory_image`).
        max_steps: the step budget of each run.
    """

    def usage(repo_id: str) -> str:
        memory_argument = "" if memory is None else ", memory=memory"
        lines = [
            "from transformers import AutoModel, AutoTokenizer, pipeline",
            "",
            f'model = AutoModel.from_pretrained("{repo_id}", trust_remote_code=True)',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}", trust_remote_code=True)',
            f'run = pipeline("subleq-execution", model="{repo_id}", trust_remote_code=True)',
            "",
        ]
        if memory is not None:
            lines.append(f"memory = {memory}  # the initial data memory, one integer per cell")
        lines.append(f"for description in {list(examples)!r}:")
        lines.append(f"    print(description, run(description{memory_argument}, max_steps={max_steps}))")
        return "\n".join(lines)

    return usage


def text_classification_usage(sentences: list[str]) -> Callable[[str], str]:
    """The Usage code of a plain text classifier (the SST-2 baseline)."""

    def usage(repo_id: str) -> str:
        return "\n".join([
            "from transformers import pipeline",
            "",
            f'classify = pipeline("text-classification", model="{repo_id}")',
            f"for sentence in {list(sentences)!r}:",
            "    print(sentence, classify(sentence)[0])",
        ])

    return usage

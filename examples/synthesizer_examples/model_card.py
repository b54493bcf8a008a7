"""Model cards written from a training run with `huggingface_hub.ModelCard` (offline-safe)."""

import json

from huggingface_hub import ModelCard, ModelCardData

from modeling_synthesizer.configuration_synthesizer import SynthesizerConfig


CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

A Synthesizer ("Rethinking Neural Computation"): a {{ backbone }} backbone with three heads that predicts the
operands (A, B, C) of subleq instruction C_t of a described program. A subleq machine runs the predicted
instructions on an external data memory of {{ data_memory_size }} cells; programs have at most
{{ max_program_length }} instructions.

## Task

{{ task_description }}

## Results

| metric | value |
| --- | --- |
{% for name, value in results.items() %}| {{ name }} | {{ value }} |
{% endfor %}

## Usage

```python
from transformers import AutoModel, AutoTokenizer, pipeline

model = AutoModel.from_pretrained("{{ repo_id }}", trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained("{{ repo_id }}")
run = pipeline("subleq-execution", model="{{ repo_id }}", trust_remote_code=True)
print(run("{{ example_description }}"))
```

## Training

Trained with `{{ script }}`:

```json
{{ training_settings }}
```
"""


def build_model_card(
    config: SynthesizerConfig,
    *,
    repo_id: str,
    script: str,
    task_description: str,
    example_description: str,
    results: dict,
    training_settings: dict,
    dataset: str | None = None,
) -> ModelCard:
    """A model card filled from the run; `card.save(output_dir / "README.md")` or push it with the model."""
    card_data = ModelCardData(
        library_name="transformers",
        license="apache-2.0",
        tags=["synthesizer", "subleq", "program-execution"],
        datasets=[dataset] if dataset else None,
        pipeline_tag=None,
    )
    return ModelCard.from_template(
        card_data,
        template_str=CARD_TEMPLATE,
        model_name=repo_id.split("/")[-1],
        repo_id=repo_id,
        backbone=f"{config.text_config.model_type} ({config.text_config.num_hidden_layers} layers, hidden "
        f"{config.text_config.hidden_size})",
        data_memory_size=config.data_memory_size,
        max_program_length=config.max_program_length,
        task_description=task_description,
        example_description=example_description,
        results={name: value for name, value in results.items() if value is not None},
        script=script,
        training_settings=json.dumps(training_settings, indent=2, sort_keys=True, default=str),
    )


__all__ = ["build_model_card"]

#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""The baseline of Experiments 2 and 3 of "Rethinking Neural Computation": `AutoModelForSequenceClassification` on
SST-2 (or any text-classification data: `--text_column_names`, `--label_column_name`, one label per class of the data)
with the Synthesizer's backbone (an untrained BERT 4 x 256) and the same training.

The input is the sentence alone (`[CLS] <sentence> [SEP]`); the best checkpoint by validation accuracy is kept and
`sst2_results.json` holds the best accuracy and the curve. The config names the classes (`id2label`, `label2id`:
string labels in sorted order, as run_classification.py numbers them).

Tiny CPU run on the committed sample (seconds):

    python examples/run_sequence_classification.py --output_dir runs/bert-tiny \\
        --train_file data/sst2_sample/train.tsv --validation_file data/sst2_sample/dev.tsv \\
        --tokenizer_name data/sst2_sample/tokenizer --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --max_train_samples 64 --num_train_epochs 1

Three classes on the committed sample of other data:

    python examples/run_sequence_classification.py --output_dir runs/bert-three-class \\
        --train_file data/three_class_sample/train.csv --validation_file data/three_class_sample/validation.csv \\
        --text_column_names title,review --label_column_name tone \\
        --tokenizer_name data/three_class_sample/tokenizer --hidden_size 32 --num_hidden_layers 1 \\
        --num_attention_heads 2 --intermediate_size 64 --num_train_epochs 1

The paper's settings (the defaults: lr 1e-4, 2 epochs, batch 32, evaluation every 64 steps, GLUE SST-2):

    python examples/run_sequence_classification.py --output_dir runs/bert-sst2 --seed 1

Several processes: as in run_soft_instruction.py (`accelerate launch --multi_gpu --num_processes 2 ... --use_cpu`).
"""

import logging
from dataclasses import dataclass, field
from typing import ClassVar

from transformers import AutoConfig, AutoModelForSequenceClassification, set_seed

from synthesizer_examples.backbone import backbone_config
from synthesizer_examples.checkpoint import HubReadyTrainer, push_saved, save_unpushed
from synthesizer_examples.metrics import argmax_labels, make_classification_accuracy
from synthesizer_examples.model_card import ModelCardSpec, text_classification_usage
from synthesizer_examples.run_settings import settings_of, write_run_settings
from synthesizer_examples.text_classification import (
    RESULTS_FILE,
    SST2DataArguments,
    SST2ModelArguments,
    SST2TrainingArguments,
    card_sentences,
    card_settings,
    check_prompt_fits,
    check_sst2_arguments,
    describe_classes,
    finished_sst2_run,
    label_names,
    load_sst2_splits,
    load_sst2_tokenizer,
    run_results,
    setup_sst2_run,
    train_and_evaluate,
)
from synthesizer_examples.training import parse_example_args, write_results


logger = logging.getLogger(__name__)


@dataclass
class SST2ClassificationTrainingArguments(SST2TrainingArguments):
    """The Synthesizer runs' `TrainingArguments`, keeping the best checkpoint by accuracy."""

    eval_metrics: ClassVar[tuple[str, ...]] = ("loss", "accuracy")

    metric_for_best_model: str | None = field(
        default="accuracy", metadata={"help": "Keep the checkpoint with the best validation accuracy."}
    )


def parse_args(argv=None) -> tuple:
    return parse_example_args(
        (SST2ModelArguments, SST2DataArguments, SST2ClassificationTrainingArguments), argv, description=__doc__,
        default_output_dir="runs/bert-sst2", check=check_sst2_arguments,
    )


def build_card(model, model_args, data_args, training_args, sentences: list[str]) -> ModelCardSpec:
    """The model card: a plain text classifier, run with `pipeline("text-classification")` on `sentences`."""
    config = model.config
    names = [config.id2label[index] for index in range(config.num_labels)]
    task = describe_classes(names)
    return ModelCardSpec(
        summary=f'The baseline of Experiments 2 and 3 of "Rethinking Neural Computation": `{type(model).__name__}` '
        f"({config.num_hidden_layers} layers, hidden {config.hidden_size}), trained from scratch on {task} with the "
        "same settings as the Synthesizer runs.",
        task_description=f"{'SST-2 sentiment classification' if task == 'SST-2' else task.capitalize()} ("
        f"{', '.join(f'{index} = {name}' for index, name in enumerate(names))}).",
        usage=text_classification_usage(sentences),
        script="examples/run_sequence_classification.py",
        training_settings=card_settings(model_args, data_args, training_args),
        dataset=data_args.dataset_name if data_args.train_file is None else None,
        pipeline_tag="text-classification",
        tags=["sst2", "synthesizer-baseline"] if task == "SST-2" else ["synthesizer-baseline"],
    )


def main(argv=None):
    """Runs the script on `argv`; returns the `sst2_results.json` payload (the earlier one when the run in
    `--output_dir` had already finished)."""
    model_args, data_args, training_args = parse_args(argv)
    settings = settings_of((model_args, data_args, training_args))  # as parsed: what a rerun is compared with
    setup_sst2_run(training_args, logger)
    finished = finished_sst2_run(training_args)
    if finished is not None:
        return finished

    # The tokenizer as the Synthesizer runs load it (no program tokens here), so the vocabularies match; before the
    # data, since one that cannot be loaded, or a --max_seq_length without room for a word, is a bad argument.
    tokenizer = load_sst2_tokenizer(model_args, [])
    check_prompt_fits(tokenizer, "", data_args.max_seq_length)
    train_data, eval_data = load_sst2_splits(data_args)
    names = label_names(train_data)

    # The Synthesizer's backbone with a classifier on its pooler, one label per class of the data.
    set_seed(training_args.seed)
    backbone = backbone_config(model_args, tokenizer, num_labels=len(names), id2label=dict(enumerate(names)),
                               label2id={name: index for index, name in enumerate(names)})
    config = AutoConfig.for_model(backbone.pop("model_type"), **backbone)
    model = AutoModelForSequenceClassification.from_config(config)

    def tokenize(batch):
        return tokenizer(batch["sentence"], truncation=True, max_length=data_args.max_seq_length)

    with training_args.main_process_first(desc="tokenizing"):
        train_dataset, eval_dataset = (split.map(tokenize, batched=True, desc="Tokenizing sentences")
                                       for split in (train_data, eval_data))
    card = build_card(model, model_args, data_args, training_args, card_sentences(eval_data))
    trainer = HubReadyTrainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        processing_class=tokenizer, compute_metrics=make_classification_accuracy(),
        preprocess_logits_for_metrics=argmax_labels, card=card,
    )

    # Training (resuming from the last intact checkpoint in --output_dir), then evaluation.
    write_run_settings(settings, training_args)
    train_metrics, eval_metrics = train_and_evaluate(trainer)

    # Results and card, save, then the results file (last: it marks the run as finished), then push.
    results = run_results(trainer, "bert", "accuracy", train_metrics, eval_metrics)
    card.results.update({"best validation accuracy": results["best_accuracy"],
                         "validation accuracy (saved model)": eval_metrics.get("eval_accuracy")})
    save_unpushed(trainer)
    results = write_results(trainer, RESULTS_FILE, results)
    push_saved(trainer, f"{describe_classes(names)} baseline: BERT sequence classification")
    return results


if __name__ == "__main__":
    main()

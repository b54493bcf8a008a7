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

from transformers import AutoModelForSequenceClassification, set_seed

from synthesizer_examples.metrics import argmax_labels, make_classification_accuracy
from synthesizer_examples.run_settings import settings_of, write_run_settings
from synthesizer_examples.sst2 import (
    SST2ClassificationTrainingArguments,
    SST2DataArguments,
    SST2ModelArguments,
    baseline_card,
    build_sequence_classification_config,
    card_sentences,
    check_prompt_fits,
    check_sst2_arguments,
    describe_classes,
    finish_sst2_run,
    finished_sst2_run,
    label_names,
    load_sst2_splits,
    load_sst2_tokenizer,
    setup_sst2_run,
    sst2_trainer,
    summarize_run,
    train_and_evaluate,
)
from synthesizer_examples.training import parse_example_args


logger = logging.getLogger(__name__)


def parse_args(argv=None) -> tuple:
    return parse_example_args(
        (SST2ModelArguments, SST2DataArguments, SST2ClassificationTrainingArguments), argv, description=__doc__,
        default_output_dir="runs/bert-sst2", check=check_sst2_arguments,
    )


def main(argv=None):
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

    set_seed(training_args.seed)
    config = build_sequence_classification_config(model_args, tokenizer, label_names(train_data))
    model = AutoModelForSequenceClassification.from_config(config)

    def tokenize(batch):
        return tokenizer(batch["sentence"], truncation=True, max_length=data_args.max_seq_length)

    with training_args.main_process_first(desc="tokenizing"):
        splits = tuple(split.map(tokenize, batched=True, desc="Tokenizing sentences")
                       for split in (train_data, eval_data))
    card = baseline_card(model, model_args, data_args, training_args, card_sentences(eval_data))
    trainer = sst2_trainer(model, training_args, splits, tokenizer, make_classification_accuracy(), argmax_labels,
                           card)
    write_run_settings(settings, training_args)
    train_metrics, eval_metrics = train_and_evaluate(trainer, training_args)
    results = summarize_run(trainer, "bert", "accuracy", train_metrics, eval_metrics, *map(len, splits))
    card.results.update({"best validation accuracy": results["best_accuracy"],
                         "validation accuracy (saved model)": eval_metrics.get("eval_accuracy")})
    return finish_sst2_run(trainer, results, f"{describe_classes(label_names(train_data))} baseline: BERT sequence "
                           "classification")


if __name__ == "__main__":
    main()

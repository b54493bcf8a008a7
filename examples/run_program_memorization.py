#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""Experiment 1 of "Rethinking Neural Computation": a Synthesizer memorizes N random subleq programs.

The network reads `[C_t token, program token]` and must predict the operands (A, B, C) of instruction C_t of that
program. Memorization is the task, so evaluation is on the training set; training stops at 100% instruction exact
match and `memorization_results.json` records the step (`steps_to_100`).

Tiny CPU run (seconds):

    python examples/run_program_memorization.py --output_dir runs/tiny --num_programs 4 --program_length 16 \\
        --data_memory_size 16 --hidden_size 64 --num_hidden_layers 2 --num_attention_heads 2 \\
        --intermediate_size 128

The paper's settings (the defaults: BERT 4 x 256, k = L = 256, N = 16, lr 1e-3, batch floor(N L / 20), linear
decay over 250 epochs, evaluation once per epoch):

    python examples/run_program_memorization.py --output_dir runs/paper-n16 --num_programs 16 --seed 1

Two processes on CPU (gloo), or several GPUs (drop --use_cpu):

    accelerate launch --multi_gpu --num_processes 2 examples/run_program_memorization.py \\
        --output_dir runs/ddp --num_programs 4 --program_length 16 --data_memory_size 16 --use_cpu
    torchrun --nproc_per_node 2 examples/run_program_memorization.py --output_dir runs/ddp --use_cpu ...

Rerunning a command whose run was interrupted resumes from the last checkpoint in --output_dir.
"""

import json
import logging
import math
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import datasets
from transformers import set_seed

from modeling_synthesizer import SynthesizerConfig, SynthesizerForSubleq
from modeling_synthesizer.tokenizer import build_word_level_tokenizer, load_tokenizer_with_programs
from synthesizer_examples.checkpoint import HubReadyTrainer, save_and_push
from synthesizer_examples.memorization import build_memorization_dataset, build_random_program_dataset
from synthesizer_examples.metrics import argmax_operands, make_compute_metrics
from synthesizer_examples.model_card import ModelCardSpec, subleq_usage, synthesizer_summary
from synthesizer_examples.training import (
    MemorizationTrainingArguments,
    StopAtExactMatchCallback,
    eval_curve,
    find_checkpoint_to_resume,
    first_step_reaching,
    parse_example_args,
    setup_run,
    tokenize_instructions,
)


logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    hidden_size: int = field(default=256, metadata={"help": "Backbone hidden size (the paper: 256)."})
    num_hidden_layers: int = field(default=4, metadata={"help": "Backbone layers (the paper: 4)."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads (the paper: 4)."})
    intermediate_size: int = field(default=1024, metadata={"help": "Feed-forward size (the paper: 1024)."})
    backbone_type: str = field(
        default="bert", metadata={"help": "Any AutoConfig model_type with BERT-style size names, e.g. bert, roberta."}
    )
    dropout: float = field(
        default=0.1, metadata={"help": "Backbone hidden and attention dropout (BERT's default 0.1, as the authors)."}
    )
    label_smoothing: float = field(
        default=0.05, metadata={"help": "Label smoothing of each head (the authors': 0.05)."}
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "A tokenizer to use instead of the embedded word-level one, e.g. bert-base-uncased "
                          "(offline: a local folder). Program tokens are added and the embeddings resized."},
    )


@dataclass
class DataArguments:
    num_programs: int = field(default=16, metadata={"help": "N, the number of programs (the paper: 16..128)."})
    program_length: int = field(default=256, metadata={"help": "L, instructions per program (the paper: 256)."})
    data_memory_size: int = field(default=256, metadata={"help": "k, data-memory cells (the paper: 256)."})
    program_seed: int | None = field(
        default=None, metadata={"help": "Seed of the random programs (default: --seed)."}
    )
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "A dataset of programs made by data/make_random_programs.py: a Hub id, a local folder or a "
                          ".jsonl file (columns description, instruction, labels). Overrides the random-program "
                          "flags."},
    )


@dataclass
class PaperTrainingArguments(MemorizationTrainingArguments):
    """The authors' Experiment 1 optimization as defaults."""

    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate (the authors': 1e-3)."})
    num_train_epochs: float = field(default=250, metadata={"help": "Epochs of the linear decay (the authors': 250)."})
    per_device_train_batch_size: int = field(
        default=0, metadata={"help": "Batch per process; 0 = the paper's floor(N * L / 20) split over processes."}
    )


def parse_args(argv=None):
    return parse_example_args((ModelArguments, DataArguments, PaperTrainingArguments), argv)


def load_programs(data_args: DataArguments, seed: int):
    """The memorization dataset and its `programs.json` records."""
    if data_args.dataset_name is None:
        return build_random_program_dataset(
            data_args.num_programs, data_args.program_length, data_args.data_memory_size, seed
        )
    if os.path.isdir(data_args.dataset_name):
        dataset = datasets.load_from_disk(data_args.dataset_name)
    elif data_args.dataset_name.endswith((".json", ".jsonl")):
        dataset = datasets.load_dataset("json", data_files=data_args.dataset_name)
    else:
        dataset = datasets.load_dataset(data_args.dataset_name)
    if isinstance(dataset, datasets.DatasetDict):
        dataset = dataset["train"]
    programs = OrderedDict()  # description -> {instruction: [A, B, C]}, programs in the order they first appear
    for row in dataset:
        programs.setdefault(row["description"], {})[row["instruction"]] = row["labels"]
    records = [
        {"description": name, "program": [rows[i] for i in sorted(rows)]} for name, rows in programs.items()
    ]
    for name, rows in programs.items():
        if sorted(rows) != list(range(1, len(rows) + 1)):
            raise ValueError(f"program {name!r} of {data_args.dataset_name} lacks instructions: has {sorted(rows)}")
    lengths = {len(record["program"]) for record in records}
    if len(lengths) != 1:
        raise ValueError(f"all programs of {data_args.dataset_name} must have one length, got {sorted(lengths)}")
    data_args.num_programs, data_args.program_length = len(records), lengths.pop()
    return build_memorization_dataset(records), records


def build_model(model_args, data_args, tokenizer):
    backbone = {
        "model_type": model_args.backbone_type,
        "vocab_size": len(tokenizer),
        "hidden_size": model_args.hidden_size,
        "num_hidden_layers": model_args.num_hidden_layers,
        "num_attention_heads": model_args.num_attention_heads,
        "intermediate_size": model_args.intermediate_size,
        "pad_token_id": tokenizer.pad_token_id,
        "hidden_dropout_prob": model_args.dropout,
        "attention_probs_dropout_prob": model_args.dropout,
    }
    config = SynthesizerConfig(
        text_config=backbone,
        data_memory_size=data_args.data_memory_size,
        max_program_length=data_args.program_length,
        label_smoothing=model_args.label_smoothing,
        # The authors' input is just [C_t token, program token]: no [CLS]/[SEP].
        input_template="{instruction} {description}",
        add_special_tokens=False,
    )
    return SynthesizerForSubleq(config)


def describe_memorized(trainer, eval_dataset, records, program_length) -> list[dict]:
    """Per program: how many of its instructions the trained model predicts exactly."""
    predicted = trainer.predict(eval_dataset).predictions  # [rows, 3], program-major
    true = [instruction for record in records for instruction in record["program"]]
    summary = []
    for index, record in enumerate(records):
        rows = range(index * program_length, (index + 1) * program_length)
        correct = sum(list(predicted[row]) == list(true[row]) for row in rows)
        summary.append({"description": record["description"], "correct_instructions": int(correct),
                        "instructions": program_length})
    return summary


def set_paper_batch_size(data_args: DataArguments, training_args: PaperTrainingArguments) -> None:
    """The authors' batch: floor(N * L / 20) examples per optimizer step, shared by the processes (when the flag is
    left at 0)."""
    if training_args.per_device_train_batch_size == 0:
        total_batch = max(1, math.floor(data_args.num_programs * data_args.program_length / 20))
        training_args.per_device_train_batch_size = max(1, total_batch // training_args.world_size)


def build_tokenizer(model_args: ModelArguments, data_args: DataArguments, descriptions: list[str]):
    """The embedded word-level tokenizer (numbers and program tokens), or `--tokenizer_name` with program tokens."""
    if model_args.tokenizer_name is None:
        return build_word_level_tokenizer(max(data_args.data_memory_size, data_args.program_length), descriptions)
    return load_tokenizer_with_programs(model_args.tokenizer_name, descriptions)


def build_card(config, model_args, data_args, training_args, descriptions: list[str]) -> ModelCardSpec:
    """The checkpoint's card: its usage runs the first programs on a fixed memory, to compare with programs.json."""
    return ModelCardSpec(
        summary=synthesizer_summary(config),
        task_description=f"Memorizes {data_args.num_programs} random subleq programs of {data_args.program_length} "
        "instructions (Experiment 1 of the paper). Their true instructions are in `programs.json`, the run's "
        "results in `memorization_results.json`.",
        usage=subleq_usage(descriptions[:2], memory=f"[(7 * i) % 13 - 6 for i in range({config.data_memory_size})]"),
        script="examples/run_program_memorization.py",
        training_settings={**asdict(model_args), **asdict(data_args), "learning_rate": training_args.learning_rate,
                           "batch_size": training_args.per_device_train_batch_size * training_args.world_size,
                           "num_train_epochs": training_args.num_train_epochs, "seed": training_args.seed},
    )


def summarize(trainer, data_args, metrics: dict, train_runtime: float | None, program_seed: int) -> dict:
    """`memorization_results.json`: the settings, the step of the first 100% evaluation and the exact-match curve."""
    args = trainer.args
    return {
        "num_programs": data_args.num_programs,
        "program_length": data_args.program_length,
        "data_memory_size": data_args.data_memory_size,
        "seed": args.seed,
        "program_seed": program_seed,
        "batch_size": args.per_device_train_batch_size * args.world_size,
        "world_size": args.world_size,
        "learning_rate": args.learning_rate,
        "eval_strategy": getattr(args.eval_strategy, "value", args.eval_strategy),
        "steps_to_100": first_step_reaching(trainer.state.log_history),
        "global_step": trainer.state.global_step,
        "final_exact_match": metrics["eval_exact_match"],
        "final_program_exact_match": metrics["eval_program_exact_match"],
        "train_runtime_s": train_runtime,
        # Every evaluation during training, (step, instruction exact match): how close a run that stopped short came.
        "exact_match_curve": eval_curve(trainer.state.log_history, "exact_match"),
    }


def write_run_files(output_dir: str, records: list[dict], results: dict) -> None:
    with open(os.path.join(output_dir, "programs.json"), "w") as f:
        json.dump(records, f)
    with open(os.path.join(output_dir, "memorization_results.json"), "w") as f:
        json.dump(results, f, indent=2)


def print_memorized(summary: list[dict], steps_to_100) -> None:
    memorized = sum(entry["correct_instructions"] == entry["instructions"] for entry in summary)
    print(f"Memorized {memorized}/{len(summary)} programs exactly; steps to 100%: {steps_to_100}")
    for entry in summary:
        print(f"  {entry['description']}: {entry['correct_instructions']}/{entry['instructions']} instructions")


def main(argv=None, callbacks=None):
    model_args, data_args, training_args = parse_args(argv)
    setup_run(training_args, logger)
    program_seed = training_args.seed if data_args.program_seed is None else data_args.program_seed
    train_dataset, records = load_programs(data_args, program_seed)
    set_paper_batch_size(data_args, training_args)
    logger.info(
        "N=%d programs, L=%d, k=%d, %d rows, batch %d per process x %d processes",
        data_args.num_programs, data_args.program_length, data_args.data_memory_size, len(train_dataset),
        training_args.per_device_train_batch_size, training_args.world_size,
    )
    descriptions = [record["description"] for record in records]
    tokenizer = build_tokenizer(model_args, data_args, descriptions)
    set_seed(training_args.seed)
    model = build_model(model_args, data_args, tokenizer)
    # Memorization is the task: the training set is the evaluation set.
    train_dataset = tokenize_instructions(train_dataset, tokenizer, model.config)
    trainer = HubReadyTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=train_dataset,
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(program_length=data_args.program_length),
        preprocess_logits_for_metrics=argmax_operands,
        callbacks=([StopAtExactMatchCallback()] if training_args.stop_at_exact_match else []) + (callbacks or []),
        card=build_card(model.config, model_args, data_args, training_args, descriptions),
    )
    train_result = trainer.train(resume_from_checkpoint=find_checkpoint_to_resume(training_args))
    trainer.save_state()
    metrics = trainer.evaluate()
    trainer.log_metrics("eval", metrics)
    trainer.save_metrics("eval", metrics)
    results = summarize(trainer, data_args, metrics, train_result.metrics.get("train_runtime"), program_seed)
    trainer.card.results.update({"steps to 100% exact match": results["steps_to_100"],
                                 "instruction exact match": results["final_exact_match"],
                                 "program exact match": results["final_program_exact_match"]})
    summary = describe_memorized(trainer, train_dataset, records, data_args.program_length)
    if trainer.is_world_process_zero():
        write_run_files(training_args.output_dir, records, results)
    save_and_push(trainer, "Synthesizer: program memorization")
    if trainer.is_world_process_zero():
        print_memorized(summary, results["steps_to_100"])
    return results


if __name__ == "__main__":
    main()

"""Text classification (GLUE SST-2 by default) for Experiments 2 and 3 of the paper: the data and its labels, and what
the three text-classification scripts share (`run_soft_instruction.py`, `run_soft_imperative.py`,
`run_sequence_classification.py`): their arguments, the tokenizer and prompt checks, the splits, training and the
results file; for the two soft programs, the Synthesizer's config, model card and `Trainer` (`synthesizer_trainer`).
"""

import csv
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import datasets
from datasets import ClassLabel, Dataset, DatasetDict
from transformers import AutoConfig, TrainingArguments

from modeling_synthesizer.configuration_synthesizer import PAPER_BACKBONE, SynthesizerConfig
from modeling_synthesizer.modeling_synthesizer import SynthesizerForSubleq
from modeling_synthesizer.tokenizer import load_tokenizer_with_programs

from .arguments import (
    DATA_MEMORY_SIZE,
    FRACTION,
    POSITIVE,
    PROGRAM_LENGTH,
    check_backbone,
    check_ranges,
    check_tokenizer_name,
    optional,
)
from .authors import HEAD_INITS, init_heads_torch_default
from .backbone import backbone_config
from .checkpoint import HubReadyTrainer
from .metrics import argmax_operands, make_compute_metrics
from .model_card import ModelCardSpec, card_training_settings, subleq_usage, synthesizer_summary
from .training import (
    RunControlArguments,
    argument_error,
    eval_curve,
    finished_results,
    say,
    setup_run,
    tokenize_instructions,
    train_resuming,
    use_progress_callback,
)


logger = logging.getLogger(__name__)

GLUE_SST2 = ("nyu-mll/glue", "sst2")
# The authors' batch: 32 examples per optimizer step, whatever the number of processes.
PAPER_BATCH_SIZE = 32
RESULTS_FILE = "sst2_results.json"
# The sentences a model card's code runs on SST-2, one of each sentiment (on other data: the first validation text of
# each class).
CARD_SENTENCES = ["a gorgeous, witty film", "a dull, lifeless mess"]
SST2_LABEL_NAMES = ["negative", "positive"]


def load_sst2(
    dataset_name: str | None = GLUE_SST2[0],
    dataset_config_name: str | None = GLUE_SST2[1],
    train_file: str | None = None,
    validation_file: str | None = None,
    cache_dir: str | None = None,
    text_column_names: str = "sentence",
    label_column_name: str = "label",
) -> DatasetDict:
    """
    SST-2, or any text-classification data, as `train` and `validation` splits of columns `sentence` (the text
    columns, each stripped of the GLUE files' trailing space, joined by a space) and `label` (a `ClassLabel`), as
    run_classification.py reads them: a `ClassLabel` column keeps its ids and names; other labels (all integers or all
    strings) of both splits are sorted and numbered from 0, named by their value (SST-2's 0 and 1: negative and
    positive). `train_file`/`validation_file` (both or none; else the Hub dataset): `.tsv` (the GLUE format:
    unquoted, a header `sentence<TAB>label`), `.csv` or `.json`/`.jsonl`.

    Raises:
        ValueError: if only one file is given, a file type is unsupported, a column is missing, a text is missing,
            or the labels are neither integers nor strings; each names its argument.
    """
    if (train_file is None) != (validation_file is None):
        raise ValueError("give both --train_file and --validation_file, or neither (then --dataset_name is used)")
    if train_file is not None:
        extension = os.path.splitext(train_file)[1].lstrip(".")
        if os.path.splitext(validation_file)[1].lstrip(".") != extension:
            raise ValueError(f"train and validation files must have one type, got {train_file}, {validation_file}")
        data_files = {"train": train_file, "validation": validation_file}
        if extension in ("tsv", "csv"):
            # The GLUE TSV files are unquoted (sentences hold '"'); "null" or "nan" are sentences, not missing values.
            raw = datasets.load_dataset(
                "csv", data_files=data_files, cache_dir=cache_dir, delimiter="\t" if extension == "tsv" else ",",
                quoting=csv.QUOTE_NONE if extension == "tsv" else csv.QUOTE_MINIMAL, na_filter=False,
            )
        elif extension in ("json", "jsonl"):
            raw = datasets.load_dataset("json", data_files=data_files, cache_dir=cache_dir)
        else:
            raise ValueError(f"--train_file must be a .tsv, .csv or .json file, got {train_file}")
    else:
        if dataset_name is None:
            raise ValueError("give --dataset_name or --train_file/--validation_file")
        raw = datasets.load_dataset(dataset_name, dataset_config_name, cache_dir=cache_dir)
    text_columns = text_column_list(text_column_names)
    for split in ("train", "validation"):
        columns = raw[split].column_names
        for flag, names in (("--text_column_names", text_columns), ("--label_column_name", [label_column_name])):
            missing = [name for name in names if name not in columns]
            if missing:
                raise ValueError(f"{flag} {','.join(names)}: the {split} split has no column "
                                 f"{', '.join(missing)} (its columns: {', '.join(columns)})")
    names, label2id = class_labels(raw, label_column_name)

    def to_rows(batch, indices, split):
        texts = []
        for row, values in zip(indices, zip(*(batch[name] for name in text_columns))):
            if any(value is None for value in values):
                raise ValueError(f"--text_column_names {text_column_names}: row {row} of the {split} split has "
                                 "no text")
            texts.append(" ".join(str(value).strip() for value in values))  # as run_classification.py
        labels = batch[label_column_name]
        return {"sentence": texts, "label": labels if label2id is None else [label2id[value] for value in labels]}

    features = datasets.Features({"sentence": datasets.Value("string"), "label": ClassLabel(names=names)})
    return DatasetDict({
        split: raw[split].map(to_rows, batched=True, with_indices=True, fn_kwargs={"split": split}, features=features,
                              remove_columns=raw[split].column_names, desc=f"Reading {split} texts and labels")
        for split in ("train", "validation")
    })


def text_column_list(text_column_names: str) -> list[str]:
    """The names of `--text_column_names` (comma-separated); ValueError if a name is empty or repeated."""
    names = [name.strip() for name in text_column_names.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise ValueError(f"--text_column_names must be distinct, comma-separated column names, got "
                         f"{text_column_names!r}")
    return names


def class_labels(raw: DatasetDict, label_column_name: str) -> tuple[list[str], dict | None]:
    """The class names of `raw`'s label column and the map of its values to class ids (None for a `ClassLabel`), as
    `load_sst2` documents; ValueError, naming `--label_column_name`, for labels that are not classes."""
    flag = f"--label_column_name {label_column_name}"
    feature = raw["train"].features[label_column_name]
    if isinstance(feature, ClassLabel):
        names = list(feature.names)
        for split in ("train", "validation"):
            bad = sorted(set(raw[split].unique(label_column_name)) - set(range(len(names))))
            if bad:
                raise ValueError(f"{flag}: the {split} split has labels {bad} outside its classes {names}")
        label2id = None
    else:
        values = set(raw["train"].unique(label_column_name)) | set(raw["validation"].unique(label_column_name))
        kinds = {type(value) for value in values}
        if not (kinds == {int} or kinds == {str}) or "" in values:
            raise ValueError(f"{flag}: labels must be all integers or all non-empty strings, got "
                             f"{sorted(map(repr, values))[:5]}")
        values = sorted(values)
        label2id = {value: index for index, value in enumerate(values)}
        names = SST2_LABEL_NAMES if values == [0, 1] else [str(value) for value in values]
    return names, label2id


def label_names(dataset: Dataset) -> list[str]:
    """The class names of a split `load_sst2` returns (class id i is named `label_names(dataset)[i]`)."""
    return list(dataset.features["label"].names)


@dataclass
class SST2ModelArguments:
    tokenizer_name: str = field(
        default="bert-base-uncased",
        metadata={"help": "The tokenizer (the authors': bert-base-uncased, from the Hub; offline, a local folder "
                          "with its vocab.txt and tokenizer_config.json, e.g. data/sst2_sample/tokenizer for the "
                          "committed sample). Program tokens are added to it."},
    )
    # The backbone of both the Synthesizer and the baseline: the authors' untrained BERT 4 x 256 by default.
    hidden_size: int = field(default=PAPER_BACKBONE["hidden_size"], metadata={"help": "Hidden size."})
    num_hidden_layers: int = field(default=PAPER_BACKBONE["num_hidden_layers"], metadata={"help": "Layers."})
    num_attention_heads: int = field(default=PAPER_BACKBONE["num_attention_heads"], metadata={"help": "Heads."})
    intermediate_size: int = field(default=PAPER_BACKBONE["intermediate_size"], metadata={"help": "FFN size."})
    backbone_type: str = field(
        default="bert", metadata={"help": "An AutoConfig model_type that takes BERT's size and dropout names."}
    )
    dropout: float = field(default=0.1, metadata={"help": "Hidden and attention dropout (BERT's 0.1, the authors')."})
    pooling: str = field(
        default="auto",
        metadata={"help": "How the Synthesizer heads read the backbone: auto = BERT's pooler, as the authors; first, "
                          "last or mean (see SynthesizerConfig). With first (the [CLS] hidden state), soft-imperative "
                          "leaves the majority class far sooner (bench/results/figure3.md). The baseline always uses "
                          "its classifier's pooler.",
                  "choices": ["auto", "first", "last", "mean"]},
    )
    label_smoothing: float = field(
        default=0.05, metadata={"help": "Label smoothing of each Synthesizer head (the authors': 0.05). The baseline "
                                        "uses --label_smoothing_factor (default 0, as the authors' baseline)."}
    )
    head_init: str = field(
        default="normal",
        metadata={"help": "The Synthesizer's A, B and C heads: normal (normal(0, 0.02), zero bias) or torch_default "
                          "(nn.Linear's uniform +-1/sqrt(H), bias included: the authors' head, never re-initialized; "
                          "with it soft-imperative leaves the majority class about twice as soon and reaches the "
                          "paper's accuracy, bench/results/figure3.md). The baseline keeps its classifier's init.",
                  "choices": list(HEAD_INITS)},
    )

    def __post_init__(self):
        # Checked while parsing, so that a bad flag is one `error:` line (status 2) before anything is built.
        check_backbone(self)
        check_ranges(self, label_smoothing=FRACTION)
        check_tokenizer_name(self.tokenizer_name)


@dataclass
class SST2DataArguments:
    dataset_name: str | None = field(default=GLUE_SST2[0], metadata={"help": "A Hub text-classification dataset."})
    dataset_config_name: str | None = field(default=GLUE_SST2[1], metadata={"help": "Its configuration."})
    train_file: str | None = field(
        default=None, metadata={"help": "A local .tsv (GLUE format), .csv or .json training file; overrides "
                                        "--dataset_name (e.g. the GLUE download's SST-2/train.tsv)."}
    )
    validation_file: str | None = field(default=None, metadata={"help": "The matching validation file (dev.tsv)."})
    text_column_names: str = field(
        default="sentence",
        metadata={"help": "The text column, or several comma-separated (joined by a space, as run_classification.py "
                          "joins them)."},
    )
    label_column_name: str = field(
        default="label",
        metadata={"help": "The label column: integers or strings (numbered in sorted order), any number of classes "
                          "from 2."},
    )
    max_seq_length: int = field(
        default=128, metadata={"help": "Longest input in tokens, prompt included (SST-2's longest is ~70)."}
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Truncate the training set to its first N examples (debugging, tests)."}
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Truncate the validation set to its first N examples."}
    )
    cache_dir: str | None = field(default=None, metadata={"help": "The datasets cache."})

    def __post_init__(self):
        # Checked here, so that a typo fails at once with one line, not after the model and data are built.
        if (self.train_file is None) != (self.validation_file is None):
            raise ValueError("give both --train_file and --validation_file, or neither (then --dataset_name is used)")
        for flag, path in (("--train_file", self.train_file), ("--validation_file", self.validation_file)):
            if path is not None and not os.path.isfile(path):
                raise ValueError(f"{flag} {path}: no such file")
        if self.train_file is None and self.dataset_name is None:
            raise ValueError("give --dataset_name or --train_file and --validation_file")
        text_column_list(self.text_column_names)
        if not self.label_column_name.strip():
            raise ValueError(f"--label_column_name must name a column, got {self.label_column_name!r}")
        check_ranges(self, max_seq_length=POSITIVE, max_train_samples=optional(POSITIVE),
                     max_eval_samples=optional(POSITIVE))


def check_sst2_arguments(model_args: SST2ModelArguments, data_args: SST2DataArguments, *other_args) -> None:
    """The `check` of the scripts' `parse_example_args`: ValueError, naming `--max_seq_length` and the largest it may
    be, unless the backbone's positions (`--backbone_type`'s default) hold `--max_seq_length` tokens."""
    positions = getattr(AutoConfig.for_model(model_args.backbone_type), "max_position_embeddings", None)
    if isinstance(positions, int) and data_args.max_seq_length > positions:
        raise ValueError(f"--max_seq_length must be <= {positions} (the positions of a {model_args.backbone_type} "
                         f"backbone), got {data_args.max_seq_length}")


def check_prompt_fits(tokenizer, prompt: str, max_seq_length: int) -> None:
    """Stops the script (one `error:` line, status 2) before anything is built when `--max_seq_length` leaves no room
    for a sentence after `prompt` (the input without its sentence): truncation would cut the prompt itself."""
    length = len(tokenizer(prompt)["input_ids"])
    if max_seq_length <= length:
        argument_error(f"--max_seq_length must be > {length}, the tokens of the prompt {prompt!r} without a sentence "
                       f"(with --tokenizer_name {tokenizer.name_or_path}), got {max_seq_length}")


def load_sst2_tokenizer(model_args: SST2ModelArguments, program_tokens: list[str]):
    """`--tokenizer_name` with `program_tokens` added; one `error:` line (status 2) if it cannot be loaded."""
    try:
        return load_tokenizer_with_programs(model_args.tokenizer_name, program_tokens)
    except OSError as error:
        argument_error(f"--tokenizer_name {model_args.tokenizer_name}: {error}")


@dataclass
class SST2ProgramArguments:
    """The Synthesizer's head sizes; each SST-2 script subclasses it with its own defaults and fields."""

    data_memory_size: int = field(default=256, metadata={"help": "k: classes of the A and B heads (the authors')."})
    max_program_length: int = field(default=256, metadata={"help": "L: the C head has L + 1 classes."})

    def __post_init__(self):
        check_ranges(self, data_memory_size=DATA_MEMORY_SIZE, max_program_length=PROGRAM_LENGTH)


@dataclass
class SST2TrainingArguments(RunControlArguments, TrainingArguments):
    """`TrainingArguments` with the authors' SST-2 settings as defaults."""

    zero_batch_size_allowed: ClassVar[bool] = True  # the authors' 32
    eval_metrics: ClassVar[tuple[str, ...]] = (
        "loss", "a_accuracy", "b_accuracy", "c_accuracy", "exact_match", "halt_accuracy")

    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (the authors': 1e-4)."})
    num_train_epochs: float = field(default=2, metadata={"help": "Epochs (the authors': 2)."})
    per_device_train_batch_size: int = field(
        default=0, metadata={"help": "Batch per process; 0 = the authors' 32 split over the processes."}
    )
    per_device_eval_batch_size: int = field(default=128, metadata={"help": "Batch per process for evaluation."})
    eval_strategy: str = field(default="steps", metadata={"help": "Evaluate every --eval_steps (the authors)."})
    eval_steps: float | None = field(default=64, metadata={"help": "Steps between evaluations (the authors': 64)."})
    save_strategy: str = field(default="steps", metadata={"help": "Checkpoint at every evaluation (best model)."})
    save_steps: float = field(default=64, metadata={"help": "Steps between checkpoints (= --eval_steps)."})
    logging_steps: float = field(default=64, metadata={"help": "Steps between training-loss logs."})
    # With --load_best_model_at_end the Trainer also keeps the best one; two leave an intact checkpoint to resume from
    # when the newest is corrupt.
    save_total_limit: int | None = field(default=2, metadata={"help": "Keep the last two checkpoints (and the best)."})
    load_best_model_at_end: bool = field(
        default=True, metadata={"help": "Keep the best checkpoint by --metric_for_best_model (the authors)."}
    )
    metric_for_best_model: str | None = field(
        default="a_accuracy",
        metadata={"help": "The authors' choice: accuracy of A, the operand that carries the sentiment "
                          "(the baseline: accuracy)."},
    )


def setup_sst2_run(training_args: TrainingArguments, script_logger: logging.Logger):
    """Logging, launch checks (world size, `--push_to_hub`) and the authors' total batch of 32."""
    setup_run(training_args, script_logger)
    if training_args.per_device_train_batch_size == 0:
        if PAPER_BATCH_SIZE % training_args.world_size:
            logger.warning("a batch of %d does not split over %d processes", PAPER_BATCH_SIZE,
                           training_args.world_size)
        training_args.per_device_train_batch_size = max(1, PAPER_BATCH_SIZE // training_args.world_size)
    args = training_args
    say(args, f"batch {args.per_device_train_batch_size} x {args.world_size} process(es) on {args.device}, lr "
              f"{args.learning_rate:g}, {args.num_train_epochs:g} epochs, seed {args.seed} | output {args.output_dir}")


def finished_sst2_run(training_args: TrainingArguments) -> dict | None:
    """The results of a run that already finished in `output_dir` (reported, and left alone), or None."""
    results = finished_results(training_args, RESULTS_FILE, required=("metric", "best_accuracy", "best_step"))
    if results is not None:
        best = f"best {results['metric']} {results['best_accuracy']} at step {results['best_step']}"
        say(training_args, f"{training_args.output_dir} holds a finished run ({RESULTS_FILE}: {best}): nothing to do. "
                           "Pass --overwrite_output_dir to train again.")
    return results


def load_sst2_splits(data_args: SST2DataArguments) -> tuple[Dataset, Dataset]:
    """The train and validation splits of `load_sst2`, truncated to `--max_train_samples`/`--max_eval_samples`; data
    that does not fit the data flags (a missing column, one class) stops the script with one `error:` line."""
    # Without progress bars (seconds, even for the whole of SST-2), so that data which does not fit the flags is one
    # `error:` line on stderr.
    bars_were_disabled = datasets.utils.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        raw = load_sst2(data_args.dataset_name, data_args.dataset_config_name, data_args.train_file,
                        data_args.validation_file, data_args.cache_dir, data_args.text_column_names,
                        data_args.label_column_name)
    except ValueError as error:
        argument_error(error)
    finally:
        if not bars_were_disabled:
            datasets.enable_progress_bars()
    train, validation = raw["train"], raw["validation"]
    names = label_names(train)
    if len(names) < 2:
        argument_error(f"--label_column_name {data_args.label_column_name}: a classifier needs at least 2 classes, "
                       f"the data has {len(names)}: {', '.join(names)}")
    if data_args.max_train_samples is not None:
        train = train.select(range(min(data_args.max_train_samples, len(train))))
    if data_args.max_eval_samples is not None:
        validation = validation.select(range(min(data_args.max_eval_samples, len(validation))))
    return train, validation


def card_sentences(validation: Dataset) -> list[str]:
    """The texts a model card's code runs: SST-2's `CARD_SENTENCES`, or on other data the first validation text of
    each class."""
    names = label_names(validation)
    if names == SST2_LABEL_NAMES:
        return list(CARD_SENTENCES)
    first = {}
    for text, label in zip(validation["sentence"], validation["label"]):
        first.setdefault(label, text)
    return [first[label] for label in sorted(first)]


def describe_classes(names: list[str]) -> str:
    """"SST-2" for SST-2's labels, otherwise the classes, for model cards."""
    if names == SST2_LABEL_NAMES:
        return "SST-2"
    return f"text classification ({len(names)} classes: {', '.join(names)})"


def card_settings(model_args, data_args, training_args, program_args=None) -> dict:
    """The settings a model card records, secrets redacted."""
    program = {} if program_args is None else vars(program_args)
    return card_training_settings({**asdict(model_args), **asdict(data_args), **program,
                                   "eval_steps": training_args.eval_steps}, training_args)


def train_and_evaluate(trainer: HubReadyTrainer) -> tuple[dict, dict]:
    """Trains (resuming from the last intact checkpoint of `output_dir`, if any), then evaluates the model training
    ended with (the best one with `--load_best_model_at_end`); logs both and saves `train_results.json` and
    `eval_results.json`. Returns (train metrics, eval metrics); `train_runtime_total` in the train metrics adds the
    earlier sessions of a resumed run."""
    use_progress_callback(trainer)
    train_metrics, total_runtime = train_resuming(trainer)
    train_metrics["train_runtime_total"] = total_runtime
    trainer.save_state()
    trainer.log_metrics("train", train_metrics)
    trainer.save_metrics("train", train_metrics)
    eval_metrics = trainer.evaluate()
    trainer.log_metrics("eval", eval_metrics)
    trainer.save_metrics("eval", eval_metrics)
    return train_metrics, eval_metrics


def run_results(trainer: HubReadyTrainer, method: str, metric: str, train_metrics: dict, eval_metrics: dict) -> dict:
    """The `sst2_results.json` payload of a trained run: the best validation `metric`, its step and the whole curve."""
    args = trainer.args
    curve = eval_curve(trainer.state.log_history, metric)
    best_step, best = max(curve, key=lambda point: point[1]) if curve else (None, None)
    if trainer.is_world_process_zero():
        logger.info("%s: best validation %s %.4f at step %s", method, metric, best or 0, best_step)
    return {
        "method": method, "metric": metric, "best_accuracy": best, "best_step": best_step, "curve": curve,
        "final_eval": eval_metrics, "seed": args.seed, "world_size": args.world_size,
        "batch_size": args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps,
        "learning_rate": args.learning_rate, "num_train_epochs": args.num_train_epochs, "eval_steps": args.eval_steps,
        "global_step": trainer.state.global_step, "train_samples": len(trainer.train_dataset),
        "eval_samples": len(trainer.eval_dataset), "train_runtime_s": train_metrics["train_runtime_total"],
    }


@dataclass
class SoftProgram:
    """A soft program as `synthesizer_trainer` builds it: what the Synthesizer's config holds (the data memory, the
    output cell and the name of each value of that cell) and what its model card says."""

    method: str  # "soft-instruction" or "soft-imperative": the results' method, and the script run_<method>.py
    memory_image: list[int]
    output_cell: int
    id2label: dict[int, str]
    task_description: str
    card_examples: list[str]  # descriptions the card's code runs through the pipeline


def synthesizer_trainer(args: tuple, tokenizer, splits: tuple[Dataset, Dataset], program: SoftProgram):
    """The config, model and `Trainer` of the two soft-program scripts: the Synthesizer (backbone from the size flags,
    heads from `SST2ProgramArguments`, `program` in its config) on `splits` (the train and validation rows of a
    soft-program builder, tokenized here), with the instruction metrics and `program`'s model card. `args` is the
    parsed `(SST2ModelArguments, SST2DataArguments, SST2ProgramArguments subclass, SST2TrainingArguments)`."""
    model_args, data_args, program_args, training_args = args
    config = SynthesizerConfig(
        text_config=backbone_config(model_args, tokenizer), label_smoothing=model_args.label_smoothing,
        pooling=model_args.pooling, data_memory_size=program_args.data_memory_size,
        max_program_length=program_args.max_program_length, memory_image=program.memory_image,
        output_cell=program.output_cell, id2label=program.id2label, add_special_tokens=True,
    )
    model = SynthesizerForSubleq(config)
    if model_args.head_init == "torch_default":
        init_heads_torch_default(model)
    with training_args.main_process_first(desc="tokenizing"):
        train_dataset, eval_dataset = (tokenize_instructions(split, tokenizer, config, data_args.max_seq_length)
                                       for split in splits)
    card = ModelCardSpec(
        summary=synthesizer_summary(config),
        task_description=program.task_description,
        usage=subleq_usage(program.card_examples, max_steps=100),
        script=f"examples/run_{program.method.replace('-', '_')}.py",
        training_settings=card_settings(model_args, data_args, training_args, program_args),
        dataset=data_args.dataset_name if data_args.train_file is None else None,
    )
    return HubReadyTrainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        processing_class=tokenizer, compute_metrics=make_compute_metrics(),
        preprocess_logits_for_metrics=argmax_operands, card=card,
    )


def synthesizer_results(trainer: HubReadyTrainer, method: str, train_metrics: dict, eval_metrics: dict) -> dict:
    """The `sst2_results.json` payload of a soft-program run (`run_results` on the accuracy of A, the operand that
    carries the class, plus the halt-accuracy curve); adds the accuracies to the trainer's model card."""
    results = run_results(trainer, method, "a_accuracy", train_metrics, eval_metrics)
    results["halt_curve"] = eval_curve(trainer.state.log_history, "halt_accuracy")
    trainer.card.results.update({
        "best validation accuracy of A": results["best_accuracy"],
        "validation accuracy of A (saved model)": eval_metrics.get("eval_a_accuracy"),
        "validation instruction exact match (saved model)": eval_metrics.get("eval_exact_match"),
    })
    return results

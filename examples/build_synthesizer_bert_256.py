#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""Builds `synthesizer-bert-256`, the release checkpoint: the paper's Synthesizer (BERT 4 x 256, 4 heads,
intermediate 1024; k = L = 256) that memorized every program of the program library under natural-language
descriptions, written as a complete Hub repository that runs programs by name on named inputs:

    run = pipeline("subleq-execution", model="org/synthesizer-bert-256", trust_remote_code=True)
    run("multiply two numbers", inputs={"a": 7, "b": 6})["outputs"]   # {'product': 42}

1. Memorize. Each library program, assembled for k cells and L instructions and padded with HALT (0, 0, 0), is
   named by its phrasings but the last `--num_held_out`; the network learns (C_t, phrasing) -> (A, B, C) with word
   dropout, each program's own instructions `--instruction_repeats` times per epoch, until every instruction of
   every trained phrasing is right (evaluated every `--eval_steps`).
2. Evaluate the saved folder as a user runs it (`pipeline(..., trust_remote_code=True)`): every trained phrasing must
   decode to exactly the assembled program and give the reference's `outputs` on `--num_inputs` random named
   inputs per program. The checkpoint itself refuses every description it was not trained on; with the opt-in
   matching of `--min_margin` and `--min_match_confidence`, held-out phrasings are reported as run right, refused,
   or run wrong, and the `--unknown_descriptions` (no library program) as refused or not.
3. Write the repository: weights (safetensors), tokenizer, config.json (`auto_map`, `custom_pipelines`,
   `known_programs` with each program's descriptions, instructions, memory and named input/output cells), the code
   files, a model card (README.md) with the results as `model-index` metadata and usage code
   that runs as written, and `release_results.json` (the command, the machine, the time and the report;
   `bench/release.py` turns it into bench/results/release.*). `--push_to_hub --hub_model_id org/synthesizer-bert-256`
   publishes it. A build that does not reach 100% exits with status 1 and pushes nothing.

The release (the defaults; name the repository so that its card loads it by name):

    OMP_NUM_THREADS=1 python examples/build_synthesizer_bert_256.py --output_dir runs/synthesizer-bert-256 \\
        --hub_model_id org/synthesizer-bert-256 --disable_tqdm true
    python bench/release.py --run_dir runs/synthesizer-bert-256

Tiny CPU build (seconds; two programs, small k, L and backbone):

    python examples/build_synthesizer_bert_256.py --output_dir runs/release-tiny --programs add,absolute \\
        --data_memory_size 4 --max_program_length 4 --hidden_size 64 --num_hidden_layers 2 \\
        --num_attention_heads 2 --intermediate_size 128 --label_smoothing 0 --instruction_repeats 1 \\
        --per_device_train_batch_size 8 --learning_rate 3e-3 --warmup_steps 0 --num_train_epochs 100 \\
        --eval_steps 20 --save_strategy no --num_inputs 20

Rerunning a command whose build was interrupted resumes from the last checkpoint in --output_dir; a finished build
is reported and left alone (a build that stopped below 100%, rerun with more epochs, trains further), and
--overwrite_output_dir starts over.
"""

import logging
import sys
import time
from dataclasses import asdict, dataclass, field

from transformers import pipeline, set_seed

from modeling_synthesizer.program_library import load_program
from synthesizer_examples.arguments import (
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    PROBABILITY,
    STEP_BUDGET,
    check_backbone,
    check_library_arguments,
    check_max_position_embeddings,
    check_ranges,
    library_input_lengths,
)
from synthesizer_examples.backbone import backbone_config
from synthesizer_examples.checkpoint import HubReadyTrainer, push_saved, save_unpushed
from synthesizer_examples.library import (
    WordDropoutDataset,
    build_description_tokenizer,
    library_records,
    library_synthesizer,
    split_phrasings,
)
from synthesizer_examples.memorization import build_memorization_dataset
from synthesizer_examples.metrics import argmax_operands, make_compute_metrics
from synthesizer_examples.release import (
    UNKNOWN_DESCRIPTIONS,
    card_examples,
    eval_results,
    evaluate_release,
    oversampled_rows,
    release_card,
    release_is_exact,
    release_metrics,
    release_usage,
)
from synthesizer_examples.run_info import launch_command, machine_description, redact_settings
from synthesizer_examples.run_settings import settings_of, write_run_settings
from synthesizer_examples.training import (
    MemorizationTrainingArguments,
    StopAtExactMatchCallback,
    find_checkpoint_to_resume,
    finished_results,
    first_step_reaching,
    parse_example_args,
    say,
    setup_run,
    tokenize_instructions,
    write_results,
)


logger = logging.getLogger(__name__)

SCRIPT = "examples/build_synthesizer_bert_256.py"
RESULTS_FILE = "release_results.json"
# What a rerun of a finished build reports from its results (`build_outcome`).
REPORTED = ("training", "metrics")


@dataclass
class ModelArguments:
    hidden_size: int = field(default=256, metadata={"help": "Backbone hidden size (the paper's 256)."})
    num_hidden_layers: int = field(default=4, metadata={"help": "Backbone layers (the paper's 4)."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads (the paper's 4)."})
    intermediate_size: int = field(default=1024, metadata={"help": "Feed-forward size (the paper's 1024)."})
    max_position_embeddings: int = field(
        default=64, metadata={"help": "Backbone positions: the longest input is [CLS] C_t, a description of up to "
                                      "about 60 words and [SEP]."}
    )
    dropout: float = field(default=0.0, metadata={"help": "Backbone hidden and attention dropout (memorization "
                                                          "needs none; word dropout regularizes the names)."})
    label_smoothing: float = field(default=0.1, metadata={"help": "Label smoothing of each head."})
    word_dropout: float = field(
        default=0.1, metadata={"help": "Probability of replacing each description word by [UNK] in training, so that "
                                       "a program is named by any of its words, not one exact phrasing."}
    )
    min_margin: float = field(
        default=10.0, metadata={"help": "Opt-in matching of unseen descriptions, as measured in the results (the "
                                        "checkpoint's own default refuses them): one runs as the known program most "
                                        "likely under the network only when it leads the next by at least this many "
                                        "nats (10: over 20,000 times likelier)."}
    )
    min_match_confidence: float = field(
        default=0.01, metadata={"help": "Opt-in matching, as measured: such a likely match is also refused when "
                                        "the network gives one of its instructions a probability below this. A "
                                        "match also needs every word of the description to occur in a trained "
                                        "description, which is what refuses descriptions of other tasks; 0.01 (was "
                                        "0.1) then runs more paraphrases right and none wrong."}
    )

    def __post_init__(self):
        # Checked while parsing, so that a bad flag is one `error:` line (status 2) before anything is built.
        check_backbone(self)
        check_ranges(self, label_smoothing=FRACTION, word_dropout=FRACTION, min_margin=NON_NEGATIVE,
                     min_match_confidence=PROBABILITY)


@dataclass
class ReleaseArguments:
    programs: str = field(default="all", metadata={"help": "Comma-separated library programs, or 'all'."})
    num_held_out: int = field(default=2, metadata={"help": "The last N phrasings of each program are held out "
                                                           "(reported, never trained)."})
    data_memory_size: int = field(default=256, metadata={"help": "k, data-memory cells (the paper's 256)."})
    max_program_length: int = field(default=256, metadata={"help": "L, instructions (the paper's 256)."})
    instruction_repeats: int = field(
        default=32, metadata={"help": "Each program's own instructions appear this many times per epoch, its HALT "
                                      "padding once (at L = 256 padding is 94%% of the rows)."}
    )
    num_inputs: int = field(default=100, metadata={"help": "Random named inputs per program and phrasing."})
    input_seed: int = field(default=1234, metadata={"help": "Seed of the random inputs."})
    max_steps_per_run: int = field(default=10_000, metadata={"help": "Step budget of each run (the library needs a "
                                                                     "few hundred at most)."})
    unknown_descriptions: list[str] = field(
        default_factory=lambda: list(UNKNOWN_DESCRIPTIONS),
        metadata={"help": "Descriptions of no library program, which the checkpoint must refuse."},
    )

    def __post_init__(self):
        # Checked while parsing, so that a bad flag is one `error:` line (status 2) before anything is built.
        self.program_names = check_library_arguments(self)
        check_ranges(self, instruction_repeats=POSITIVE, num_inputs=POSITIVE, max_steps_per_run=STEP_BUDGET)
        check_unknown_descriptions(self.unknown_descriptions, self.program_names)


def check_unknown_descriptions(unknown_descriptions: list[str], program_names: list[str]) -> None:
    """`--unknown_descriptions` must be texts that describe none of the programs: a phrasing of one (in other case or
    spacing: the tokenizer lower-cases and splits off punctuation) would run, and the build would fail its check.

    Raises:
        ValueError: for none, an empty one, or one that is a program's phrasing.
    """
    if not unknown_descriptions or not all(isinstance(text, str) and text.strip() for text in unknown_descriptions):
        raise ValueError(f"--unknown_descriptions must be one or more non-empty texts, got {unknown_descriptions!r}")
    owners = {description: name for name in program_names for description in load_program(name).descriptions}
    tokenizer = build_description_tokenizer(list(owners), 0)
    phrasings = {tuple(tokenizer(description)["input_ids"]): name for description, name in owners.items()}
    for text in unknown_descriptions:
        name = phrasings.get(tuple(tokenizer(text)["input_ids"]))
        if name is not None:
            raise ValueError(f"--unknown_descriptions: {text!r} is a phrasing of the library program {name!r}, not an "
                             "unknown description")


def check_arguments(model_args: ModelArguments, release_args: ReleaseArguments, training_args) -> None:
    """The checks between flags of two dataclasses: the backbone's positions hold the longest input the build runs
    (every phrasing, trained or held out, and every unknown description).

    Raises:
        ValueError: naming `--max_position_embeddings` and the input that does not fit.
    """
    descriptions = [description for name in release_args.program_names
                    for description in load_program(name).descriptions]
    lengths = library_input_lengths(descriptions + list(release_args.unknown_descriptions),
                                    release_args.max_program_length)
    check_max_position_embeddings(model_args.max_position_embeddings, lengths)


@dataclass
class ReleaseTrainingArguments(MemorizationTrainingArguments):
    """Defaults for the release on a 2-core CPU: an evaluation (of every trained phrasing's k x L rows, about 40 s at
    BERT 4 x 256) every 200 steps rather than once per epoch."""

    # The authors' learning rate and batch size: bench/table1.py's tuned 3e-3 (with batches of ~200 random-program
    # rows) diverged here, on word descriptions, within 75 steps.
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW peak learning rate (the authors' 1e-3)."})
    warmup_steps: float = field(default=0.05, metadata={"help": "Warm-up: a ratio of the step budget below 1."})
    adam_beta2: float = field(default=0.98, metadata={"help": "Adam beta2."})
    # 4 epochs ended at 99.95% (5 of 10,240 rows wrong); resumed with 6, 100% at step 2400 (bench/results/release.md).
    num_train_epochs: float = field(default=6, metadata={"help": "Epochs of the linear decay (a cap: training stops "
                                                                 "at 100%% exact match)."})
    per_device_train_batch_size: int = field(default=64, metadata={"help": "Batch per process."})
    eval_strategy: str = field(default="steps", metadata={"help": "Evaluate every --eval_steps."})
    eval_steps: float | None = field(default=200, metadata={"help": "Steps between evaluations."})
    save_strategy: str = field(default="steps", metadata={"help": "Checkpoint at every evaluation (to resume)."})
    save_steps: float = field(default=200, metadata={"help": "Steps between checkpoints."})
    logging_strategy: str = field(default="steps", metadata={"help": "Log every --logging_steps."})
    logging_steps: float = field(default=25, metadata={"help": "Steps between logs."})
    # Only a checked build is published: never the checkpoints on the way.
    hub_strategy: str = field(default="end", metadata={"help": "With --push_to_hub: upload the checked build only."})


def parse_args(argv=None):
    return parse_example_args((ModelArguments, ReleaseArguments, ReleaseTrainingArguments), argv,
                              description=__doc__, check=check_arguments)


# Data and model


def select_programs(release_args: ReleaseArguments) -> tuple[list, dict]:
    """The programs and, per program, its `{"trained": [...], "held_out": [...]}` phrasings.

    Raises:
        ValueError: if `--num_held_out` leaves a program no phrasing to train on.
    """
    programs = [load_program(name) for name in release_args.program_names]
    phrasings = {}
    for program in programs:
        trained, held_out = split_phrasings(program, release_args.num_held_out)
        phrasings[program.name] = {"trained": trained, "held_out": held_out}
    return programs, phrasings


def build_datasets(programs, phrasings, release_args: ReleaseArguments, model_args: ModelArguments, tokenizer,
                   config, seed: int):
    """`(train, eval)`: every (trained phrasing, C_t) row once, clean, for evaluation; for training, the same rows
    with each program's own instructions oversampled (`oversampled_rows`) and word dropout."""
    k, length = release_args.data_memory_size, release_args.max_program_length
    records = library_records(programs, {name: p["trained"] for name, p in phrasings.items()}, k, length)
    eval_dataset = tokenize_instructions(build_memorization_dataset(records), tokenizer, config)
    lengths = [len(program.assemble(k, length).program) for program in programs
               for _ in phrasings[program.name]["trained"]]  # library_records' order: program-major
    rows = eval_dataset.select(oversampled_rows(lengths, length, release_args.instruction_repeats))
    # [CLS] and C_t are never dropped; only description words.
    train_dataset = WordDropoutDataset(rows, tokenizer, model_args.word_dropout, keep_prefix=2, seed=seed)
    return train_dataset, eval_dataset


# Saving and results


def summarize(trainer, metrics: dict, seconds: dict) -> dict:
    """The training side of `release_results.json`: steps, time per step, the final exact match."""
    state = trainer.state
    train_seconds = seconds["train"]
    return {
        "steps_to_100": first_step_reaching(state.log_history),
        "global_step": state.global_step,
        "train_rows_per_epoch": len(trainer.train_dataset),
        "train_seconds": round(train_seconds, 1),
        "seconds_per_step": round(train_seconds / max(state.global_step, 1), 3),
        "evaluation_seconds": round(seconds["evaluate"], 1),
        "final_exact_match": metrics["eval_exact_match"],
        "final_program_exact_match": metrics["eval_program_exact_match"],
    }


def main(argv=None):
    wall_start = time.time()
    model_args, release_args, training_args = parse_args(argv)
    settings = settings_of((model_args, release_args, training_args))  # as parsed: what a rerun is compared with
    setup_run(training_args, logger)
    finished = finished_results(training_args, RESULTS_FILE, required=REPORTED)
    if finished is not None:
        return report_finished(training_args, finished)
    command, machine = launch_command(SCRIPT, argv), machine_description()
    programs, phrasings = select_programs(release_args)
    k, length = release_args.data_memory_size, release_args.max_program_length
    trained = [description for p in phrasings.values() for description in p["trained"]]
    tokenizer = build_description_tokenizer(trained, max(k, length), model_args.max_position_embeddings)
    set_seed(training_args.seed)
    model = library_synthesizer(backbone_config(model_args, tokenizer), programs,
                                {name: p["trained"] for name, p in phrasings.items()}, k, length,
                                model_args.label_smoothing)
    train_dataset, eval_dataset = build_datasets(programs, phrasings, release_args, model_args, tokenizer,
                                                 model.config, training_args.seed)
    say(training_args, f"{len(programs)} programs, {len(trained)} trained phrasings, {len(eval_dataset)} rows "
                       f"({len(train_dataset)} per epoch), k={k}, L={length}, vocabulary {len(tokenizer)}")
    training_settings = redact_settings({
        **asdict(model_args), **asdict(release_args), "learning_rate": training_args.learning_rate,
        "batch_size": training_args.per_device_train_batch_size * training_args.world_size,
        "seed": training_args.seed})
    trainer = HubReadyTrainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        processing_class=tokenizer, compute_metrics=make_compute_metrics(program_length=length),
        preprocess_logits_for_metrics=argmax_operands,
        callbacks=[StopAtExactMatchCallback()] if training_args.stop_at_exact_match else [],
        card=release_card(model.config, programs, phrasings, k, length, release_args.input_seed, training_settings),
    )
    write_run_settings(settings, training_args)
    start = time.time()
    trainer.train(resume_from_checkpoint=find_checkpoint_to_resume(training_args))
    seconds = {"train": time.time() - start}
    save_unpushed(trainer)  # the evaluation loads this folder, as a user would
    trainer.save_state()
    metrics = trainer.evaluate()
    trainer.save_metrics("eval", metrics)
    if not trainer.is_world_process_zero():
        return None
    start = time.time()
    pipe = pipeline("subleq-execution", model=training_args.output_dir, trust_remote_code=True, device=-1)
    report = evaluate_release(pipe, programs, phrasings, k, length, release_args.num_inputs,
                              release_args.input_seed, release_args.max_steps_per_run,
                              release_args.unknown_descriptions,
                              {"min_margin": model_args.min_margin,
                               "min_match_confidence": model_args.min_match_confidence})
    seconds["evaluate"] = time.time() - start
    counts = release_metrics(report)
    results = {"command": command, "machine": machine, "settings": training_settings,
               "training": summarize(trainer, metrics, seconds), "metrics": counts, "report": report,
               "wall_seconds": round(time.time() - wall_start, 1),
               # On a shared machine the wall time depends on the other load; the CPU time much less.
               "cpu_seconds": round(time.process_time(), 1)}
    refused = next((u["description"] for u in report["unknown"] if u["refused"]), None)
    trainer.card.usage = release_usage(card_examples(programs, phrasings, release_args.input_seed), refused)
    trainer.card.results.update({name: f"{count}/{total}" for name, (count, total) in counts.items()})
    trainer.card.results["steps to 100% exact match"] = results["training"]["steps_to_100"]
    trainer.card.eval_results = eval_results(counts, len(programs))
    save_unpushed(trainer)  # the card with the results (the weights are those evaluated)
    # Last, over the saved model: RESULTS_FILE marks the build as finished, and a rerun then does nothing.
    results = write_results(trainer, RESULTS_FILE, results, stopped_short=metrics["eval_exact_match"] < 1.0)
    failure = build_failure(results, training_args.output_dir)
    if failure is not None:
        sys.exit(failure)
    push_saved(trainer, "synthesizer-bert-256: the program library, by name, on named inputs")
    for name, (count, total) in counts.items():
        say(training_args, f"{name}: {count}/{total}")
    say(training_args, f"built in {results['wall_seconds']:.0f} s ({trainer.state.global_step} steps)")
    return results


def build_failure(results: dict, output_dir: str) -> str | None:
    """The error line of a build (`release_results.json`) that is not a release, or None: a trained phrasing that
    does not decode exactly or runs wrong, or an instruction exact match below 100%."""
    training, counts = results["training"], results["metrics"]
    if training["final_exact_match"] == 1.0 and release_is_exact(counts):
        return None
    return (f"error: the build did not memorize every trained phrasing exactly ({counts}; instruction exact match "
            f"{training['final_exact_match']:.4f} after {training['global_step']} steps): nothing was pushed. Train "
            f"longer (--num_train_epochs) or see {RESULTS_FILE} in {output_dir}")


def report_finished(training_args, results: dict) -> dict:
    """A rerun of a finished build: says so and returns its results without training, evaluating or pushing; a build
    that was not exact exits with its error again (status 1)."""
    failure = build_failure(results, training_args.output_dir)
    say(training_args, f"{training_args.output_dir} holds a finished build ({RESULTS_FILE}): nothing to do. "
                       "--overwrite_output_dir starts over.")
    if failure is not None:
        sys.exit(failure)
    for name, (count, total) in results["metrics"].items():
        say(training_args, f"{name}: {count}/{total}")
    return results


if __name__ == "__main__":
    main()

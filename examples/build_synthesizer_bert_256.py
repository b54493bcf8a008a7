#!/usr/bin/env python
# /// script
# dependencies = ["synthesizer[examples]", "transformers[torch]>=5.23,<6", "datasets>=5,<6", "accelerate>=1.1"]
# ///
"""Builds `synthesizer-bert-256`, the release checkpoint: the paper's Synthesizer (BERT 4 x 256, 4 heads,
intermediate 1024; k = L = 256) that memorized every program of the program library under natural-language
descriptions, written as a complete Hub repository that runs programs by name on named inputs. It is
`examples/run_program_library.py` on the built-in library with the release settings (this script's defaults: the
same flags, the same evaluation, `release_results.json` as the results file):

    run = pipeline("subleq-execution", model="org/synthesizer-bert-256", trust_remote_code=True)
    run("multiply two numbers", inputs={"a": 7, "b": 6})["outputs"]   # {'product': 42}

1. Memorize. Each library program, assembled for k cells and L instructions and padded with HALT (0, 0, 0), is
   named by its phrasings but the last `--num_held_out`; the network learns (C_t, phrasing) -> (A, B, C) with word
   dropout, each program's own instructions `--instruction_repeats` times per epoch, until every instruction of
   every trained phrasing is right (evaluated every `--eval_steps`).
2. Evaluate the saved folder as a user runs it (`pipeline(..., trust_remote_code=True)`): every trained phrasing must
   decode to exactly the assembled program and run right (halt, run as the program it names, give the expected
   `outputs`) on each program's declared tests and `--num_inputs` random named inputs against its reference. The
   checkpoint itself refuses every description it was not trained on; with the opt-in matching of `--min_margin`
   and `--min_match_confidence`, held-out phrasings are reported as run right, refused, or run wrong, and the
   `--unknown_descriptions` (no library program) as refused or not.
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

from dataclasses import dataclass, field

import run_program_library as library
from utils_program_library import UNKNOWN_DESCRIPTIONS


SCRIPT = "examples/build_synthesizer_bert_256.py"
RESULTS_FILE = "release_results.json"


@dataclass
class ModelArguments(library.ModelArguments):
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
    min_match_confidence: float = field(
        default=0.01, metadata={"help": "Opt-in matching, as measured: such a likely match is also refused when "
                                        "the network gives one of its instructions a probability below this. A "
                                        "match also needs every word of the description to occur in a trained "
                                        "description, which is what refuses descriptions of other tasks; 0.01 (was "
                                        "0.1) then runs more paraphrases right and none wrong."}
    )


@dataclass
class ReleaseArguments(library.DataArguments):
    data_memory_size: int = field(default=256, metadata={"help": "k, data-memory cells (the paper's 256)."})
    max_program_length: int = field(default=256, metadata={"help": "L, instructions (the paper's 256)."})
    instruction_repeats: int = field(
        default=32, metadata={"help": "Each program's own instructions appear this many times per epoch, its HALT "
                                      "padding once (at L = 256 padding is 94%% of the rows)."}
    )
    num_inputs: int = field(default=100, metadata={"help": "Random named inputs per program and phrasing."})
    stepwise_check_inputs: int = field(default=0, metadata={"help": "Runs per program also made stepwise."})
    unknown_descriptions: list[str] = field(
        default_factory=lambda: list(UNKNOWN_DESCRIPTIONS),
        metadata={"help": "Descriptions of no library program, which the checkpoint must refuse."},
    )
    baseline: bool = field(default=False, metadata={"help": "Train and compare the end-to-end baselines."})


@dataclass
class ReleaseTrainingArguments(library.LibraryTrainingArguments):
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


ARGUMENT_TYPES = (ModelArguments, ReleaseArguments, ReleaseTrainingArguments)


def parse_args(argv=None):
    return library.parse_args(argv, ARGUMENT_TYPES, description=__doc__)


def main(argv=None):
    """`examples/run_program_library.py` with the release's defaults, its results in `release_results.json`.

    Raises:
        SystemExit: as `run_program_library.main`: status 2 for a bad argument, status 1 for a failing declared
            test or a build that is not exact (nothing is pushed).
    """
    return library.main(argv, argument_types=ARGUMENT_TYPES,
                        script=SCRIPT, results_file=RESULTS_FILE, description=__doc__,
                        commit_message="synthesizer-bert-256: the program library, by name, on named inputs")


if __name__ == "__main__":
    main()

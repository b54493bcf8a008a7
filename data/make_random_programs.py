#!/usr/bin/env python
"""Materializes a random-program memorization dataset (Experiment 1) to disk, or pushes it to the Hub.

    python data/make_random_programs.py --num_programs 16 --program_length 256 --data_memory_size 256 --seed 1 \
        --output_dir data/random-programs-n16
    python data/make_random_programs.py ... --push_to_hub org/synthesizer-random-programs-n16

The folder holds the `datasets` files (`load_from_disk`), `programs.json` and a dataset card (README.md); the
memorization example reads it back with `--dataset_name <folder or Hub id>`.
"""

import argparse
import json
import os

from huggingface_hub import DatasetCard, DatasetCardData

from synthesizer_examples.memorization import build_random_program_dataset


CARD = """---
{{ card_data }}
---

# Random subleq programs

{{ num_programs }} random subleq programs of {{ program_length }} instructions over a data memory of
{{ data_memory_size }} cells (seed {{ seed }}), for Experiment 1 of "Rethinking Neural Computation": one row per
(program, instruction number) with columns `description` (the program token), `instruction` (C_t, 1-based) and
`labels` ([A, B, C]). A and B are uniform in [0, k); C is uniform in [0, L] (0 = HALT, L + 1 would be past the end).

Made with `python data/make_random_programs.py --num_programs {{ num_programs }} --program_length {{ program_length }}
--data_memory_size {{ data_memory_size }} --seed {{ seed }}`.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_programs", type=int, default=16)
    parser.add_argument("--program_length", type=int, default=256)
    parser.add_argument("--data_memory_size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output_dir", help="folder to write (load it with datasets.load_from_disk)")
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="also push the dataset and its card to the Hub")
    args = parser.parse_args(argv)
    if not args.output_dir and not args.push_to_hub:
        parser.error("give --output_dir, --push_to_hub, or both")

    dataset, records = build_random_program_dataset(
        args.num_programs, args.program_length, args.data_memory_size, args.seed
    )
    card = DatasetCard.from_template(
        DatasetCardData(license="cc0-1.0", tags=["subleq", "synthesizer"], task_categories=["text-classification"]),
        template_str=CARD, **vars(args),
    )
    if args.output_dir:
        dataset.save_to_disk(args.output_dir)
        with open(os.path.join(args.output_dir, "programs.json"), "w") as f:
            json.dump(records, f)
        card.save(os.path.join(args.output_dir, "README.md"))
        print(f"wrote {len(dataset)} rows of {len(records)} programs to {args.output_dir}")
    if args.push_to_hub:
        dataset.push_to_hub(args.push_to_hub)
        card.push_to_hub(args.push_to_hub)


if __name__ == "__main__":
    main()

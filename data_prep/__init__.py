"""Raw published medical datasets -> LLaMA-Factory-ready alpaca jsonl, registered in dataset_info.json.

    python -m data_prep                      # the bundled synthetic samples (data_prep/samples/)
    python -m data_prep --raw-dir dataset    # the published files, found by name below a folder

Writes data/sft/<task>_{train,test}.jsonl (and the multiple-choice benchmarks' test/dev files) and
data/sft/manifest.json (counts, skips by reason, sha256, token stats, recommended cutoff_len), then the med_*
entries of dataset_info.json.
One module per dataset (dialog, norm, mrg, triage, qa, text, general: a reader plus a pure `to_sft`); each
task module also holds its prompt, how its raw files are found and its options (`TASK = PrepTask(...)`,
`taskspec`), registered in `tasks` (docs/adding-a-task.md). Shared quality passes in `quality`, token statistics
in `tokens`, the run in `pipeline` (the CLI in `cli` only parses arguments), the all-or-nothing publication in
`publish`, the generators of the bundled samples in `synthetic`. Names, file formats and the atomic writer shared with
launch and eval are the contract package's.
"""

"""The contract between data_prep (which writes the prepared data), launch and eval (which read it): every
fact the packages share, stated once. It imports none of them; they import it, never each other.

    paths         the repo's folders; names of the files passed between packages (dataset_info.json ...)
    models        base / GPT-2 hub ids and names, the tiny offline models' folders
    datasets      task, split and dataset names, split file names, report fields, triage label separator
    files         the one atomic writer: bytes, text, JSON, jsonl, YAML with header comments (+ sha256 of a file);
                  files follow the umask; a full disk or read-only folder is a WriteError sentence
    publish       the one way to publish a set of files: build a new folder, one atomic rename, recovery
    dataset_info  LLaMA-Factory's registration: read, our entries, update, where a dataset's files lie
    manifest      manifest.json: build, seal (file fingerprints), read, the recommended cutoff_len
    sftset        is a folder one complete data_prep output? (manifest vs files vs registrations)
    env           the offline environment; boolean variables read as the library that acts on them does; VERBOSE
    prepare       run data_prep into a folder (tests, bench, demo)
    serving       the bounds on one request to a served model (API, web chat): characters, new tokens, deadline
    classifier    the triage classifier's encoding and threshold rule (its trainer in launch, its scorer in eval)
"""

"""Facts shared by data_prep (which writes them) and launch/eval (which read them), importable without
either package. Tiny on purpose: today only the prepared-data set check (`sftset`)."""

"""The corpus study: label notebooks on Ray Data (label), measure throughput (bench), and
report the paper's statistics (report)."""

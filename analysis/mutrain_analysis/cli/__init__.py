"""The commands tools/plot.py, tools/transfer.py and tools/spectral_report.py run (and the
mutrain-plot, mutrain-transfer, mutrain-spectral-report scripts a pip install makes): each module's
entry(argv) returns the exit code."""

"""Reports: the Report model (report), what to run after a NO_GO (nextsteps), and one renderer
per output format (formats)."""

"""The report scripts: each chooses settings, calls tabturn and writes tables, figures and markdown under
reports/. Run one with `python -m analysis.<name>` from the checkout, or all with `make report`
(`python -m analysis.run_all`)."""

"""`flask --app wsgi check-config`: everything a deployer can get wrong, one line per finding."""

from .command import check_config_command, report_unloadable, requested

__all__ = ["check_config_command", "report_unloadable", "requested"]

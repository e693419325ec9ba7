"""Backups: the weekly and on-demand backup, the archive format, restore."""

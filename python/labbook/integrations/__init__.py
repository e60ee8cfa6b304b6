"""Integrations with training frameworks, each importing its framework only when used:
transformers (LabbookCallback for the Trainer), lightning (LabbookLogger) and lr_range (LR range tests)."""

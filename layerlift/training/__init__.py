"""Cycle-consistent LoRA tuning and the self-improving data loop."""

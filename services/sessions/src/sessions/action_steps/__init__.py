"""action_steps."""

//! Configuration from the environment or one Secrets Manager secret, and logging set-up.

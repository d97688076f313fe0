"""The generation service: Wan2.1 jobs on Replicate, charged before they run."""

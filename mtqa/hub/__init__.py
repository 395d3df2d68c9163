"""``mtqa publish``: a build as a Hugging Face Hub dataset, a trained model as a Hub model."""

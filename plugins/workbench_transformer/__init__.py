"""Built-in plugins for the original Transformer (encoder-decoder); filled in by its issue."""

import subprocess, sys, time, os
from pathlib import Path

def test_scratch(make_tiny_lm, tmp_path):
    model, tok, _ = make_tiny_lm("llama")
    d = Path("/tmp/rel_model"); model.save_pretrained(d); tok.save_pretrained(d)

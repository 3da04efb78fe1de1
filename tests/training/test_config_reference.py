"""The README's config reference is the schema's: regenerate it with
scripts/update_config_reference.py when this fails."""

from pathlib import Path

from torchlite.training.config import Config
from torchlite.training.config_reference import README_END, README_START, reference_yaml
from torchlite.training.loader import load_yaml

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_block_is_generated_from_the_schema():
    text = README.read_text(encoding="utf-8")
    block = text[text.index(README_START) + len(README_START):text.index(README_END)]
    assert block.strip() == f"```yaml\n{reference_yaml()}```", (
        "README.md's config reference differs from the schema: run "
        "python scripts/update_config_reference.py")


def test_the_reference_shows_the_real_defaults():
    data, _ = load_yaml(reference_yaml())
    trainer = Config.model_fields["trainer"].default_factory()
    assert data["trainer"]["early_stopping"]["patience"] == trainer.early_stopping.patience == 8
    assert data["data"]["normalize"] == "auto"
    assert data["trainer"]["epochs"] == trainer.epochs


def test_the_reference_is_a_valid_config():
    data, _ = load_yaml(reference_yaml())
    Config.model_validate(data)  # the example sections and every default validate

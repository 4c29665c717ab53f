"""`fpbench report`: one self-contained HTML file per run (or over several runs) that a person looks at:
the card in readable form, sample faces side by side, the table and matplotlib plots, images embedded."""

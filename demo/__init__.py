"""The demo program: ten years (2011–2020) of decision 6374/QĐ-UBND, loaded through the door.

- :mod:`demo.run`: ``load_demo``, which writes the program into an empty ledger through the
  application service, and the summary it answers;
- :mod:`demo.plan`: what happens when, planned before anything is written;
- :mod:`demo.actions`: each step of the plan carried out as a command of the ledger;
- :mod:`demo.records`: the enterprises, applications and activities the plan is made of;
- :mod:`demo.reference`: the demo's reference data (demo values, not the program's real
  figures);
- :mod:`demo.draw`: its random draws and rounding of amounts.

It imports :mod:`ledger` only. ``ledger demo`` (api/cli.py) and the tests load it.
"""

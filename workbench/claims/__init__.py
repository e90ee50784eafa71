"""Claims of the seed papers, checked against the stored runs.

Plugins register claims (:class:`workbench.specs.ClaimSpec`, hook ``register_claims``);
:func:`check_claims` asks each one for its verdict on the runs of a home (or those a user
picked), for the dashboard's Claims tab and ``workbench report``. :mod:`workbench.claims.pick`
holds the helpers claim plugins share (twin runs, the accuracy a run measured, standard errors).
"""

from workbench.claims.check import ClaimPanel, check_claims, claim_specs, judged_runs

__all__ = ["ClaimPanel", "check_claims", "claim_specs", "judged_runs"]

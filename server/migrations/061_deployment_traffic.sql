-- Traffic splits of a deployment: a canary version takes a share of the alias's requests, a
-- shadow version gets a copy of a share of them (its answers are discarded). Versions are kept as
-- numbers, like aliases' targets are shown: a deleted version fails to load and the alias's
-- version keeps answering.
ALTER TABLE deployments
  ADD COLUMN canary_version integer CHECK (canary_version >= 1),
  ADD COLUMN canary_percent double precision CHECK (canary_percent BETWEEN 0 AND 100),
  ADD COLUMN shadow_version integer CHECK (shadow_version >= 1),
  ADD COLUMN shadow_percent double precision CHECK (shadow_percent BETWEEN 0 AND 100),
  ADD CONSTRAINT deployments_canary_whole CHECK ((canary_version IS NULL) = (canary_percent IS NULL)),
  ADD CONSTRAINT deployments_shadow_whole CHECK ((shadow_version IS NULL) = (shadow_percent IS NULL));

-- Local demo data: loaded by `npm start` and by the test setup, never by remote migrations
-- (wrangler only applies the numbered files at the top of migrations/). Idempotent.
-- Keys are stored as the hex SHA-256 of the whole key string, like every other key.

-- org_demo may hold 10,000 conversations at once: the tests and the playground open many.
INSERT INTO orgs (id, name, tier, rate_limit_per_minute, max_concurrent_conversations, created_at) VALUES
  ('org_demo',  'Demo Org',  'enterprise', 100000, 10000, 1767225600000),
  ('org_free',  'Free Org',  'free',       NULL,   NULL,  1767225600000),
  ('org_other', 'Other Org', 'pro',        NULL,   NULL,  1767225600000)
ON CONFLICT (id) DO NOTHING;

INSERT INTO api_keys (id, org_id, name, mode, key_hash, prefix, last4, created_at) VALUES
  -- av_test_demo00000000000000000000000000000000
  ('key_demo',  'org_demo',  'Local demo key',  'test', '0794fcb4793d196449630ded372cc22a5a2404a81d3e47d3927181141eadb633', 'av_test_demo', '0000', 1767225600000),
  -- av_test_free00000000000000000000000000000000
  ('key_free',  'org_free',  'Local free key',  'test', '972fafd33fb616a0cfa9fee8be4a59240c2c82b5cb3701fdc9953efccc78a087', 'av_test_free', '0000', 1767225600000),
  -- av_test_other0000000000000000000000000000000
  ('key_other', 'org_other', 'Local other key', 'test', '4579f4ea8536b51c98e3df5c4b5cc4bba760eb2e583cb2d1854d3c92f4b3f275', 'av_test_othe', '0000', 1767225600000)
ON CONFLICT (id) DO NOTHING;

-- The platform demo avatar av_demo is not here: it is a platform record every deployment has, created
-- by migrations/0002_platform_records.sql (its model file, av_demo.json, is loaded from models/).
INSERT INTO avatars (id, owner_org_id, parent_id, name, is_demo, is_public, active, status, runtime_type,
                     preview_img_url, video_url, model_asset_key, model_format, created_at, updated_at) VALUES
  -- A public Gaussian character of org_other with three looks (created together: ties broken by id).
  ('av_gaussian_mira', 'org_other', NULL, 'Mira', 0, 1, 1, 'ready', 'gaussian',
   'https://assets.example.com/avatars/av_gaussian_mira.png', NULL, NULL, NULL, 1769904000000, 1769904000000),
  ('av_gaussian_mira_studio', 'org_other', 'av_gaussian_mira', 'Mira (studio)', 0, 1, 1, 'ready', 'gaussian',
   'https://assets.example.com/avatars/av_gaussian_mira_studio.png', 'https://assets.example.com/avatars/av_gaussian_mira_studio.mp4',
   'av_gaussian_mira_studio.splat', 'splat', 1769990400000, 1769990400000),
  ('av_gaussian_mira_street', 'org_other', 'av_gaussian_mira', 'Mira (street)', 0, 1, 1, 'ready', 'gaussian',
   'https://assets.example.com/avatars/av_gaussian_mira_street.png', 'https://assets.example.com/avatars/av_gaussian_mira_street.mp4',
   'av_gaussian_mira_street.splat', 'splat', 1769990400000, 1769990400000),
  ('av_gaussian_mira_evening', 'org_other', 'av_gaussian_mira', 'Mira (evening)', 0, 1, 1, 'ready', 'gaussian',
   'https://assets.example.com/avatars/av_gaussian_mira_evening.png', NULL,
   'av_gaussian_mira_evening.splat', 'splat', 1769990400000, 1769990400000),
  -- org_demo's own avatars that are not usable yet.
  ('av_01KJKB3Q000TTKZ65ECZT8NCY2', 'org_demo', NULL, 'Upload in progress', 0, 0, 1, 'processing', 'gaussian',
   NULL, NULL, NULL, NULL, 1772323200000, 1772323200000),
  ('av_01KJNXGE00QEZHB32PJBPGNQPA', 'org_demo', NULL, 'Blurry upload', 0, 0, 1, 'failed', 'gaussian',
   NULL, NULL, NULL, NULL, 1772409600000, 1772409600000),
  -- A private avatar of org_other: every other org must see a 404.
  ('av_01KJXMPK00R52WS9AE0Y6BT6W5', 'org_other', NULL, 'Other Org private', 0, 0, 1, 'ready', 'gaussian',
   'https://assets.example.com/avatars/av_01KJXMPK00R52WS9AE0Y6BT6W5.png', NULL,
   'av_01KJXMPK00R52WS9AE0Y6BT6W5.splat', 'splat', 1772668800000, 1772668800000)
ON CONFLICT (id) DO NOTHING;

-- What org_demo's unfinished uploads were uploaded as, and why the failed one failed.
UPDATE avatars SET source_format = 'ply' WHERE id = 'av_01KJKB3Q000TTKZ65ECZT8NCY2' AND source_format IS NULL;
UPDATE avatars SET source_format = 'ply', failure_code = 'avatar.format_invalid',
  failure_message = 'The PLY has no opacity property; export it from a Gaussian Splatting trainer (x, y, z, f_dc_0..2, opacity, scale_0..2, rot_0..3).'
  WHERE id = 'av_01KJNXGE00QEZHB32PJBPGNQPA' AND failure_code IS NULL;

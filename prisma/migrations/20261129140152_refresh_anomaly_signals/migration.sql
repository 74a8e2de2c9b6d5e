-- Refresh anomaly signals: what a family's next rotation is compared with (its last address and user agent, a
-- streak of rapid rotations) and the signals its latest anomalous rotation raised. Existing families start with
-- nulls: their last address and user agent are those they started with (read with COALESCE).
ALTER TABLE "refresh_token_families" ADD COLUMN "last_ip" TEXT;
ALTER TABLE "refresh_token_families" ADD COLUMN "last_user_agent" TEXT;
ALTER TABLE "refresh_token_families" ADD COLUMN "rapid_streak" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "refresh_token_families" ADD COLUMN "latest_signals" JSONB;
ALTER TABLE "refresh_token_families" ADD COLUMN "latest_signals_at" TIMESTAMPTZ(3);

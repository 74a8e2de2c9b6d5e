-- Keys that must outlive a change of TOLLGATE_SECRET (the token-hashing key), sealed under it: rotating the root
-- secret re-seals them (`secrets reseal`) instead of changing them.
-- CreateTable
CREATE TABLE "secret_keys" (
    "name" TEXT NOT NULL,
    "sealed" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "secret_keys_pkey" PRIMARY KEY ("name")
);

-- Initial access tokens for dynamic client registration (RFC 7591 §3), keyed by the HMAC of the token.
-- CreateTable
CREATE TABLE "registration_tokens" (
    "id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "max_uses" INTEGER NOT NULL,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registration_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "registration_tokens_expires_at_idx" ON "registration_tokens"("expires_at");

-- AlterTable
ALTER TABLE "accounts" ADD COLUMN "not_before" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "clients" ADD COLUMN "resource_server_uri" TEXT,
ADD COLUMN "resource_scopes" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "clients_resource_server_uri_key" ON "clients"("resource_server_uri");

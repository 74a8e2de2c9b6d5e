-- APIs (resource servers) become a model of their own, with described scopes, and clients obtain an API's scopes
-- only through explicit allowances (client_resource_scopes). Existing resource servers are carried over with their
-- scopes; no allowance is carried over, since before this migration every client could obtain every API scope.

-- CreateTable
CREATE TABLE "resource_servers" (
    "identifier" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "client_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "resource_servers_pkey" PRIMARY KEY ("identifier")
);

-- CreateTable
CREATE TABLE "resource_scopes" (
    "resource" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,

    CONSTRAINT "resource_scopes_pkey" PRIMARY KEY ("resource","name")
);

-- CreateTable
CREATE TABLE "client_resource_scopes" (
    "client_id" TEXT NOT NULL,
    "resource" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "client_resource_scopes_pkey" PRIMARY KEY ("client_id","resource","scope")
);

-- CreateIndex
CREATE UNIQUE INDEX "resource_servers_client_id_key" ON "resource_servers"("client_id");

-- CreateIndex
CREATE INDEX "client_resource_scopes_resource_scope_idx" ON "client_resource_scopes"("resource", "scope");

-- AddForeignKey
ALTER TABLE "resource_servers" ADD CONSTRAINT "resource_servers_client_id_fkey" FOREIGN KEY ("client_id") REFERENCES "clients"("client_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "resource_scopes" ADD CONSTRAINT "resource_scopes_resource_fkey" FOREIGN KEY ("resource") REFERENCES "resource_servers"("identifier") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "client_resource_scopes" ADD CONSTRAINT "client_resource_scopes_client_id_fkey" FOREIGN KEY ("client_id") REFERENCES "clients"("client_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "client_resource_scopes" ADD CONSTRAINT "client_resource_scopes_resource_scope_fkey" FOREIGN KEY ("resource", "scope") REFERENCES "resource_scopes"("resource", "name") ON DELETE CASCADE ON UPDATE CASCADE;

-- Carry existing resource servers over
INSERT INTO "resource_servers" ("identifier", "name", "client_id")
SELECT "resource_server_uri", "name", "client_id" FROM "clients" WHERE "resource_server_uri" IS NOT NULL;

INSERT INTO "resource_scopes" ("resource", "name")
SELECT DISTINCT c."resource_server_uri", s.scope
  FROM "clients" c, regexp_split_to_table(coalesce(c."resource_scopes", ''), '\s+') AS s(scope)
 WHERE c."resource_server_uri" IS NOT NULL AND s.scope <> '';

-- DropIndex
DROP INDEX "clients_resource_server_uri_key";

-- AlterTable
ALTER TABLE "clients" DROP COLUMN "resource_server_uri",
DROP COLUMN "resource_scopes";

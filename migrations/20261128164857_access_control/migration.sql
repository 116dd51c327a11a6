CREATE TYPE "role" AS ENUM('VIEWER', 'OPERATOR', 'PLANNER', 'ENGINEER', 'ADMIN');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" serial PRIMARY KEY,
	"name" text NOT NULL,
	"role" "role" NOT NULL,
	"plant_ids" integer[],
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"key_name" text NOT NULL,
	"key_id" integer,
	"role" text NOT NULL,
	"operation" text NOT NULL,
	"fields" text[] NOT NULL,
	"variables" jsonb,
	"outcome" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_uq" ON "api_keys" ("key_hash");--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" ("at");
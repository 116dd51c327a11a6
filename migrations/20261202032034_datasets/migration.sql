CREATE TYPE "dataset_source" AS ENUM('CSV', 'TWIN');--> statement-breakpoint
CREATE TABLE "dataset_chunks" (
	"dataset_id" integer,
	"seq" integer,
	"rows" integer NOT NULL,
	"bytes" bytea NOT NULL,
	CONSTRAINT "dataset_chunks_pkey" PRIMARY KEY("dataset_id","seq")
);
--> statement-breakpoint
CREATE TABLE "datasets" (
	"id" serial PRIMARY KEY,
	"name" text NOT NULL,
	"plant_id" integer,
	"source" "dataset_source" NOT NULL,
	"columns" jsonb NOT NULL,
	"row_count" integer NOT NULL,
	"definition" jsonb,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "datasets_plant_idx" ON "datasets" ("plant_id","id");--> statement-breakpoint
ALTER TABLE "dataset_chunks" ADD CONSTRAINT "dataset_chunks_dataset_id_datasets_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;
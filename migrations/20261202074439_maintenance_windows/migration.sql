CREATE TABLE "maintenance_windows" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"machine_id" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"reason" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "maintenance_windows_machine_idx" ON "maintenance_windows" ("machine_id","starts_at");--> statement-breakpoint
CREATE INDEX "maintenance_windows_plant_idx" ON "maintenance_windows" ("plant_id");--> statement-breakpoint
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;
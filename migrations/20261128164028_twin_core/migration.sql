CREATE TYPE "machine_status" AS ENUM('RUNNING', 'IDLE', 'DOWN', 'MAINTENANCE', 'OFFLINE');--> statement-breakpoint
CREATE TYPE "order_status" AS ENUM('PLANNED', 'RELEASED', 'IN_PROGRESS', 'DONE', 'CANCELLED');--> statement-breakpoint
CREATE TABLE "lines" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "machines" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"line_id" integer NOT NULL,
	"name" text NOT NULL,
	"kind" text,
	"ideal_cycle_seconds" double precision,
	"status" "machine_status" DEFAULT 'IDLE'::"machine_status" NOT NULL,
	"status_since" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"product_id" integer NOT NULL,
	"code" text NOT NULL,
	"quantity" integer NOT NULL,
	"release_at" timestamp with time zone,
	"due_at" timestamp with time zone NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"status" "order_status" DEFAULT 'PLANNED'::"order_status" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plants" (
	"id" serial PRIMARY KEY,
	"name" text NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "routing_step_machines" (
	"step_id" integer,
	"machine_id" integer,
	CONSTRAINT "routing_step_machines_pkey" PRIMARY KEY("step_id","machine_id")
);
--> statement-breakpoint
CREATE TABLE "routing_steps" (
	"id" serial PRIMARY KEY,
	"product_id" integer NOT NULL,
	"step_index" integer NOT NULL,
	"minutes_per_unit" double precision NOT NULL,
	"setup_minutes" double precision DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "lines_plant_name_uq" ON "lines" ("plant_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "machines_plant_name_uq" ON "machines" ("plant_id","name");--> statement-breakpoint
CREATE INDEX "machines_line_idx" ON "machines" ("line_id");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_plant_code_uq" ON "orders" ("plant_id","code");--> statement-breakpoint
CREATE INDEX "orders_plant_due_idx" ON "orders" ("plant_id","due_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "plants_name_uq" ON "plants" ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "products_plant_name_uq" ON "products" ("plant_id","name");--> statement-breakpoint
CREATE INDEX "routing_step_machines_machine_idx" ON "routing_step_machines" ("machine_id");--> statement-breakpoint
CREATE UNIQUE INDEX "routing_steps_product_index_uq" ON "routing_steps" ("product_id","step_index");--> statement-breakpoint
ALTER TABLE "lines" ADD CONSTRAINT "lines_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "machines" ADD CONSTRAINT "machines_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "machines" ADD CONSTRAINT "machines_line_id_lines_id_fkey" FOREIGN KEY ("line_id") REFERENCES "lines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_product_id_products_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE RESTRICT;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "routing_step_machines" ADD CONSTRAINT "routing_step_machines_step_id_routing_steps_id_fkey" FOREIGN KEY ("step_id") REFERENCES "routing_steps"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "routing_step_machines" ADD CONSTRAINT "routing_step_machines_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "routing_steps" ADD CONSTRAINT "routing_steps_product_id_products_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE CASCADE;
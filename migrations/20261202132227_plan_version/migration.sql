-- plants.plan_version: bumped by every write to what a plan is built on, whichever code path writes it.
-- Statement-level triggers with transition tables: one UPDATE of plants per statement, however many rows it wrote
-- (an import of 20,000 orders bumps once). Machines count only when their plant, line or rate factor changes, so
-- recording machine states does not move the version.
CREATE FUNCTION plan_version_bump_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT plant_id FROM new_rows);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT plant_id FROM old_rows);
  ELSE
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT plant_id FROM new_rows UNION SELECT plant_id FROM old_rows);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION plan_version_bump_machines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (
    SELECT n.plant_id FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.rate_factor IS DISTINCT FROM o.rate_factor OR n.line_id IS DISTINCT FROM o.line_id OR n.plant_id IS DISTINCT FROM o.plant_id
    UNION
    SELECT o.plant_id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.plant_id IS DISTINCT FROM o.plant_id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION plan_version_bump_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT p.plant_id FROM new_rows r JOIN products p ON p.id = r.product_id);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT p.plant_id FROM old_rows r JOIN products p ON p.id = r.product_id);
  ELSE
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT p.plant_id FROM new_rows r JOIN products p ON p.id = r.product_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION plan_version_bump_step_machines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT m.plant_id FROM old_rows r JOIN machines m ON m.id = r.machine_id);
  ELSE
    UPDATE plants SET plan_version = plan_version + 1 WHERE id IN (SELECT m.plant_id FROM new_rows r JOIN machines m ON m.id = r.machine_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER orders_plan_version_ins AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER orders_plan_version_upd AFTER UPDATE ON orders REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER orders_plan_version_del AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER maintenance_plan_version_ins AFTER INSERT ON maintenance_windows REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER maintenance_plan_version_upd AFTER UPDATE ON maintenance_windows REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER maintenance_plan_version_del AFTER DELETE ON maintenance_windows REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER products_plan_version_ins AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER products_plan_version_del AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER machines_plan_version_ins AFTER INSERT ON machines REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER machines_plan_version_upd AFTER UPDATE ON machines REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_machines();
--> statement-breakpoint
CREATE TRIGGER machines_plan_version_del AFTER DELETE ON machines REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_rows();
--> statement-breakpoint
CREATE TRIGGER routing_steps_plan_version_ins AFTER INSERT ON routing_steps REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_steps();
--> statement-breakpoint
CREATE TRIGGER routing_steps_plan_version_upd AFTER UPDATE ON routing_steps REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_steps();
--> statement-breakpoint
CREATE TRIGGER routing_steps_plan_version_del AFTER DELETE ON routing_steps REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_steps();
--> statement-breakpoint
CREATE TRIGGER routing_step_machines_plan_version_ins AFTER INSERT ON routing_step_machines REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_step_machines();
--> statement-breakpoint
CREATE TRIGGER routing_step_machines_plan_version_upd AFTER UPDATE ON routing_step_machines REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_step_machines();
--> statement-breakpoint
CREATE TRIGGER routing_step_machines_plan_version_del AFTER DELETE ON routing_step_machines REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION plan_version_bump_step_machines();
